#!/usr/bin/env node
/**
 * `npm run keys:rotate [-- --dir DIR] [--mode 644]`: rotates the access-token signing key, with no restart.
 *
 * Adds a fresh EC P-256 key to the key directory (--dir, else JWT_KEYS_DIR, else the development
 * directory .data/jwt/keys), named after this moment. Auth re-reads the directory every
 * JWT_KEYS_REFRESH_SECONDS and signs with the newest key; the older keys keep verifying until every token
 * they signed has expired, and the other apps learn the new key from auth the first time they see it.
 * Then it deletes the keys whose window has ended (they verify nothing any more) and rewrites
 * public-keys.pem: the public keys that still verify, for JWT_PUBLIC_KEY_FILE of the other apps.
 * The window follows libs/platform/src/security/key-schedule.ts: keep the two in step (the spec checks).
 * Reads ACCESS_TOKEN_TTL_SECONDS and JWT_KEYS_REFRESH_SECONDS as the apps do (defaults 900 and 30).
 * The key file is private to its owner (600) unless --mode says otherwise: a directory bind-mounted into
 * a container whose app runs as another user needs 644 (docker/secrets/README.md).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const MARGIN_SECONDS = 60;
const KEY_FILE = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(\.\d{3})?Z\.pem$/;
const keyFileName = (at) => `${at.toISOString().replace(/:/g, '-')}.pem`;

function kidOf(publicKey) {
  const { x, y } = publicKey.export({ format: 'jwk' });
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ crv: 'P-256', kty: 'EC', x, y }))
    .digest('base64url');
}

function readKeys(dir) {
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, m: KEY_FILE.exec(name) }))
    .filter(({ m }) => m)
    .map(({ name, m }) => {
      const publicKey = crypto.createPublicKey(
        crypto.createPrivateKey(fs.readFileSync(path.join(dir, name), 'utf8')),
      );
      return { name, createdAt: Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}${m[5] ?? ''}Z`), publicKey };
    })
    .sort((a, b) => a.createdAt - b.createdAt);
}

function rotate({ dir, ttlSeconds = 900, refreshSeconds = 30, now = new Date(), mode = 0o600 }) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = crypto
    .generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' });
  const file = path.join(dir, keyFileName(now));
  // Written whole under a temporary name, then renamed: auth never reads half a key.
  const temp = path.join(dir, `.rotate-${process.pid}.tmp`);
  fs.writeFileSync(temp, pem, { mode, flag: 'wx' });
  fs.chmodSync(temp, mode); // whatever the umask
  if (fs.existsSync(file)) {
    fs.unlinkSync(temp);
    throw new Error(`${file} exists already`);
  }
  fs.renameSync(temp, file);
  const keys = readKeys(dir);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const kept = [];
  const removed = [];
  keys.forEach((key, i) => {
    const next = keys[i + 1];
    const verifyUntil = next
      ? Math.ceil(next.createdAt / 1000) + refreshSeconds + ttlSeconds + MARGIN_SECONDS
      : null;
    if (verifyUntil !== null && verifyUntil <= nowSeconds) {
      fs.unlinkSync(path.join(dir, key.name));
      removed.push({ ...key, kid: kidOf(key.publicKey) });
    } else {
      kept.push({ ...key, kid: kidOf(key.publicKey), verifyUntil });
    }
  });
  const bundle = kept.map((k) => k.publicKey.export({ type: 'spki', format: 'pem' })).join('');
  fs.writeFileSync(path.join(dir, 'public-keys.pem'), bundle, { mode: 0o644 });
  return { file, kid: kept[kept.length - 1].kid, kept, removed };
}

function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf('--dir');
  const modeAt = args.indexOf('--mode');
  const dir = path.resolve(
    at >= 0 ? args[at + 1] : process.env.JWT_KEYS_DIR || path.join(process.cwd(), '.data', 'jwt', 'keys'),
  );
  const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
  const result = rotate({
    dir,
    ttlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 900),
    refreshSeconds: int('JWT_KEYS_REFRESH_SECONDS', 30),
    mode: modeAt >= 0 ? parseInt(args[modeAt + 1], 8) : 0o600,
  });
  const say = (line) => process.stdout.write(`${line}\n`);
  say(`new signing key ${result.kid}: ${result.file}`);
  for (const k of result.kept.slice(0, -1)) {
    say(`  still verifies: ${k.kid} (${k.name}) until ${new Date(k.verifyUntil * 1000).toISOString()}`);
  }
  for (const k of result.removed) say(`  removed, its window has ended: ${k.kid} (${k.name})`);
  say(`public keys that verify: ${path.join(dir, 'public-keys.pem')}`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`keys:rotate: ${err.message}\n`);
    process.exit(1);
  }
}

module.exports = { rotate, keyFileName };
