import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface DatabaseUrl {
  directDatabaseUrl(env: Record<string, string | undefined>): URL;
  describe(url: URL): string;
  libpqEnv(url: URL): Record<string, string>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { directDatabaseUrl, describe: shown, libpqEnv } = require('./database-url.js') as DatabaseUrl;

describe('the database of backup and restore (scripts/lib/database-url.js)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb-dburl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the direct connection (DATABASE_LISTEN_URL) over DATABASE_URL (PgBouncer in the split stack)', () => {
    const url = directDatabaseUrl({
      DATABASE_URL: 'postgres://u:p@pgbouncer:6432/protobank',
      DATABASE_LISTEN_URL: 'postgres://u:p@postgres:5432/protobank',
    });
    expect(url.host).toBe('postgres:5432');
    expect(directDatabaseUrl({ DATABASE_URL: 'postgres://u:p@db:5432/x' }).host).toBe('db:5432');
    expect(directDatabaseUrl({}).toString()).toBe('postgres://postgres@127.0.0.1:5432/protobank');
  });

  it('reads *_FILE as the apps do: one trailing newline dropped, both set refused', () => {
    const file = join(dir, 'database_direct_url');
    writeFileSync(file, 'postgres://u:p@postgres:5432/protobank\n');
    expect(directDatabaseUrl({ DATABASE_LISTEN_URL_FILE: file }).pathname).toBe('/protobank');
    expect(() => directDatabaseUrl({ DATABASE_URL_FILE: file, DATABASE_URL: 'postgres://x/y' })).toThrow(
      'DATABASE_URL and DATABASE_URL_FILE are both set: keep one',
    );
    expect(() => directDatabaseUrl({ DATABASE_URL_FILE: join(dir, 'missing') })).toThrow('cannot be read');
    expect(() => directDatabaseUrl({ DATABASE_URL: 'mysql://x/y' })).toThrow('must use postgres:');
    expect(() => directDatabaseUrl({ DATABASE_URL: 'postgres://x:5432/' })).toThrow('names no database');
  });

  it('hands pg_dump the password in its environment, decoded, and never shows it', () => {
    const url = directDatabaseUrl({
      DATABASE_URL: 'postgresql://pro%40bank:p%3Aw%2Fd@db.example:6543/pb%20x?sslmode=require',
    });
    expect(libpqEnv(url)).toEqual({
      PGHOST: 'db.example',
      PGPORT: '6543',
      PGDATABASE: 'pb x',
      PGUSER: 'pro@bank',
      PGPASSWORD: 'p:w/d',
      PGSSLMODE: 'require',
    });
    expect(shown(url)).not.toContain('p%3Aw');
  });
});
