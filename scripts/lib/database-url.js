/**
 * The database a tool (backup, restore) works on, read as the apps read it (libs/platform/src/config):
 * NAME or NAME_FILE (a file holding it, e.g. a Docker secret; both set is an error; one trailing newline
 * dropped). The direct connection: DATABASE_LISTEN_URL when set, which is the one that bypasses PgBouncer
 * (pg_dump and pg_restore need a session of their own), else DATABASE_URL, else the development default.
 */
const fs = require('node:fs');

/** DATABASE_URL's default in libs/platform/src/config/config.schema.ts. */
const DEVELOPMENT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/protobank';

function readVariable(env, name) {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') {
    if (direct !== undefined && direct !== '')
      throw new Error(`${name} and ${name}_FILE are both set: keep one`);
    try {
      return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`${name}_FILE points at ${file}, which cannot be read (${err.message})`);
    }
  }
  return direct === '' ? undefined : direct;
}

function directDatabaseUrl(env = process.env) {
  const value =
    readVariable(env, 'DATABASE_LISTEN_URL') ?? readVariable(env, 'DATABASE_URL') ?? DEVELOPMENT_DATABASE_URL;
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new Error('the database URL is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`the database URL must use postgres: or postgresql:, got ${url.protocol}`);
  }
  if (!url.pathname.replace(/^\//, '')) throw new Error('the database URL names no database');
  return url;
}

/**
 * libpq's variables for `url`, so that pg_dump and pg_restore get the password in their environment
 * (readable by this user only) rather than on a command line anyone can list with ps.
 */
function libpqEnv(url) {
  const env = {
    PGHOST: decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    PGPORT: url.port || '5432',
    PGDATABASE: decodeURIComponent(url.pathname.replace(/^\//, '')),
  };
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

/** `url` without its password, for messages. */
function describe(url) {
  const shown = new URL(url);
  shown.password = '';
  return shown.toString();
}

module.exports = { directDatabaseUrl, libpqEnv, describe, readVariable };
