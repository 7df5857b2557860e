import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isEmail } from 'class-validator';
import { domainToASCII, domainToUnicode } from 'node:url';

/** Where `up` keeps each address it rewrites, as it was, for `down` to give back. */
const KEPT = 'ops.email_spellings_1763700000049';

/** The tables holding a user's address, each keyed by the user's id. */
const TABLES = [
  { table: 'users.users', key: 'id' },
  { table: 'auth.credentials', key: 'user_id' },
  { table: 'notifications.verified_emails', key: 'user_id' },
] as const;

/**
 * The address with each `xn--` label of its domain written as it reads, as normaliseEmail now stores and
 * looks up addresses (libs/platform/src/http/email.ts, which this copies so that the migration keeps
 * doing what it did when the rule changes): only a label that encodes letters beyond ASCII and encodes
 * back to itself, and only if the result is still an address isEmail takes; otherwise as it was.
 */
function asItReads(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || !address.includes('xn--', at)) return address;
  const labels = address.slice(at + 1).split('.');
  const read = labels.map((label) => {
    if (!label.startsWith('xn--')) return label;
    const unicode = domainToUnicode(label);
    // eslint-disable-next-line no-control-regex
    return unicode && /[^\x00-\x7F]/.test(unicode) && domainToASCII(unicode) === label ? unicode : label;
  });
  const result = `${address.slice(0, at + 1)}${read.join('.')}`.normalize('NFKC').toLowerCase();
  return result === address || isEmail(result) ? result : address;
}

/**
 * Addresses registered with a domain in IDNA's ASCII form (`ann@xn--bcher-kva.test`) are rewritten as they
 * read (`ann@bücher.test`): logins, resets and lockouts now normalise an address that way, and would no
 * longer find the account otherwise. A user whose address as it reads is another user's already (the
 * same mailbox registered twice, in both spellings, before the rule) keeps theirs: that account is then
 * reached only by support, and the count of such users is raised as a notice, not hidden.
 */
export class EmailDomainsAsTheyRead1763700000049 implements MigrationInterface {
  name = 'EmailDomainsAsTheyRead1763700000049';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE ${KEPT} (tbl text NOT NULL, user_id uuid NOT NULL, email text NOT NULL, PRIMARY KEY (tbl, user_id))`,
    );
    const spelled = (await q.query(
      `SELECT id::text AS id, email FROM users.users WHERE email ~* '@(.*\\.)?xn--'
       UNION
       SELECT user_id::text, email FROM auth.credentials WHERE email ~* '@(.*\\.)?xn--'`,
    )) as { id: string; email: string }[];
    const byUser = new Map<string, string>();
    for (const row of spelled) {
      const read = asItReads(row.email.toLowerCase());
      if (read !== row.email.toLowerCase()) byUser.set(row.id, read);
    }
    let kept = 0;
    for (const [userId, email] of byUser) {
      const taken = (await q.query(
        `SELECT 1 FROM users.users WHERE lower(email) = $1 AND id <> $2
         UNION ALL
         SELECT 1 FROM auth.credentials WHERE lower(email) = $1 AND user_id <> $2`,
        [email, userId],
      )) as unknown[];
      if (taken.length > 0) {
        kept++;
        continue;
      }
      for (const { table, key } of TABLES) {
        await q.query(
          `WITH before AS (SELECT ${key} AS user_id, email FROM ${table} WHERE ${key} = $1 FOR UPDATE),
                kept AS (INSERT INTO ${KEPT} (tbl, user_id, email) SELECT $3, user_id, email FROM before)
           UPDATE ${table} t SET email = $2 FROM before WHERE t.${key} = before.user_id`,
          [userId, email, table],
        );
      }
    }
    if (kept > 0) {
      await q.query(
        `DO $$ BEGIN RAISE NOTICE '% user(s) kept an xn-- address: the same mailbox is another user''s as it reads', ${kept}; END $$`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const { table, key } of TABLES) {
      await q.query(
        `UPDATE ${table} t SET email = k.email FROM ${KEPT} k WHERE k.tbl = $1 AND t.${key} = k.user_id`,
        [table],
      );
    }
    await q.query(`DROP TABLE ${KEPT}`);
  }
}
