import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, sourceFiles } from '../../../../test/support/source-files';

/**
 * What needs a server session of its own, and so breaks behind PgBouncer in transaction mode (the split
 * containers' DATABASE_URL): each may appear only where it runs on a direct connection.
 */
const SESSION_ONLY: { what: string; pattern: RegExp; allowedIn: string[] }[] = [
  {
    what: 'a session advisory lock (use withSessionLock, or pg_advisory_xact_lock in a transaction)',
    pattern: /pg_(try_)?advisory_(un)?lock(_shared)?\s*\(/,
    allowedIn: ['libs/platform/src/database/session-lock.ts'],
  },
  {
    what: 'LISTEN',
    pattern: /\bLISTEN\s+\$?\{?\w/,
    allowedIn: ['libs/platform/src/messaging/events/outbox-relay.ts'],
  },
  {
    what: 'a session setting (use SET LOCAL or set_config(…, true) inside a transaction)',
    pattern: /[`'"]\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_]+\s*(=|TO\b)/i,
    allowedIn: [],
  },
  {
    what: 'a named prepared statement',
    pattern: /\bPREPARE\s+\w+|\bname:\s*['"`][^'"`]+['"`],\s*text:/,
    allowedIn: [],
  },
  { what: 'a temporary table', pattern: /CREATE\s+TEMP(ORARY)?\s+TABLE/i, allowedIn: [] },
];

describe('SQL that PgBouncer in transaction mode would break', () => {
  const files = ['apps', 'libs'].flatMap((d) => sourceFiles(join(ROOT, d)));

  it.each(SESSION_ONLY)(
    '$what appears only where it runs on a direct connection',
    ({ pattern, allowedIn }) => {
      const offenders = files
        .filter((f) => pattern.test(readFileSync(f, 'utf8')))
        .map((f) => relative(ROOT, f))
        .filter((f) => !allowedIn.includes(f));
      expect(offenders).toEqual([]);
    },
  );

  it('finds what it looks for (the patterns match the calls they are for)', () => {
    const samples = [
      'SELECT pg_try_advisory_lock($1)',
      'LISTEN ${OUTBOX_CHANNEL}',
      "'SET statement_timeout = 1000'",
      'PREPARE fetch_user AS SELECT 1',
      'CREATE TEMP TABLE t (id int)',
    ];
    SESSION_ONLY.forEach(({ pattern }, i) => expect(pattern.test(samples[i])).toBe(true));
    expect(SESSION_ONLY[2].pattern.test("'SET LOCAL lock_timeout = '2s''")).toBe(false);
  });
});
