#!/usr/bin/env node
/**
 * `npm run secrets:init -- --suffix NAME [--force] [--dir DIR] [--tls-host HOST]`: a fresh set of the split
 * stack's secrets.
 *
 * Writes docker/secrets/<name>.NAME for every committed docker/secrets/<name>.example (git-ignored), each
 * in the form of its example: random passwords, tokens and keys, the owner's Postgres password shared by
 * the server and migrate's URL, the apps' login's password shared by their URLs, PgBouncer's userlist and
 * migrate (which sets it), one RabbitMQ password shared by its URL and the
 * broker's config, and a signing-key directory (jwt_keys.NAME, as `npm run keys:rotate` makes it) whose
 * public keys are jwt_public_key.NAME, and a self-signed certificate for nginx (tls_cert/tls_key, for
 * HOST, default localhost: replace it with your CA's before real traffic). Then run the stack with PROTOBANK_SECRETS=NAME. Production refuses
 * the *.example values, so the split stack needs such a set before its first `up`.
 *
 * The hosts, users and settings come from the examples (only the secret parts change). An example this
 * script does not know is an error: teach it here, or the stack would start without that secret.
 * Existing files of the suffix are kept (Postgres and RabbitMQ take their password only when their volume
 * is first initialised) unless --force. smtp_password gets $SMTP_PASSWORD (empty: no login). Files are
 * 644: they are bind-mounted as Docker secrets into containers whose users must read them. Nothing secret
 * is printed.
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { rotate } = require('./keys-rotate.js');

const DEFAULT_DIR = path.join(__dirname, '..', 'docker', 'secrets');
const MODE = 0o644;

const hex = (bytes) => crypto.randomBytes(bytes).toString('hex');
const base64 = (bytes) => crypto.randomBytes(bytes).toString('base64');

/** A URL of the example with its password replaced (hex: nothing to escape). */
function withPassword(example, password) {
  const url = new URL(example.trim());
  url.password = password;
  return `${url.toString().replace(/\/$/, '')}\n`;
}

/**
 * nginx's certificate and key: self-signed (P-256, 90 days) for `host`, so that the stack starts over
 * HTTPS at once. Clients will not trust it: put your CA's chain and key in tls_cert.<suffix> and
 * tls_key.<suffix> before real traffic (see docs/operations/edge.md). Made by the openssl CLI: Node can
 * make the key pair but not an X.509 certificate.
 */
function selfSignedTls(host) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pb-tls-'));
  try {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const san = /^[0-9.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '90']
        .concat(['-subj', `/O=Protobank/CN=${host}`, '-addext', `subjectAltName=${san},IP:127.0.0.1`])
        .concat(['-keyout', key, '-out', cert]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each example's fresh counterpart, from the example's text and the set's shared passwords. */
const FILES = {
  postgres_password: (_, s) => `${s.postgres}\n`,
  database_owner_url: (example, s) => withPassword(example, s.postgres),
  postgres_app_password: (_, s) => `${s.app}\n`,
  database_url: (example, s) => withPassword(example, s.app),
  database_direct_url: (example, s) => withPassword(example, s.app),
  pgbouncer_userlist: (example, s) => example.replace(/^("[^"]+") "[^"]*"$/m, `$1 "${s.app}"`),
  rabbitmq_url: (example, s) => withPassword(example, s.rabbitmq),
  rabbitmq_conf: (example, s) => example.replace(/^default_pass\s*=.*$/m, `default_pass = ${s.rabbitmq}`),
  jwt_public_key: (_, s) => s.publicKeys,
  kyc_encryption_key: () => `${base64(32)}\n`,
  card_data_key: () => `${base64(32)}\n`,
  card_network_secret: () => `${hex(32)}\n`,
  smtp_password: () => `${process.env.SMTP_PASSWORD ?? ''}\n`,
  webhook_signing_secret: () => `${hex(32)}\n`,
  metrics_token: () => `${hex(32)}\n`,
  grafana_admin_password: () => `${hex(24)}\n`,
  admin_password: () => `${hex(24)}\n`, // the first staff admin's (docker-compose.first-admin.yml)
  tls_cert: (_, s) => s.tls().cert,
  tls_key: (_, s) => s.tls().key,
};
/** Directories: made, not templated. */
const DIRS = ['jwt_keys'];

function secretsInit({ suffix, dir = DEFAULT_DIR, force = false, tlsHost = 'localhost' }) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(suffix ?? '') || suffix === 'example') {
    throw new Error('--suffix must be a name of letters, digits, - and _ other than "example" (e.g. prod)');
  }
  const examples = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.example'))
    .map((n) => n.slice(0, -'.example'.length));
  const unknown = examples.filter((n) => !FILES[n] && !DIRS.includes(n));
  if (unknown.length) {
    throw new Error(
      `no generator for ${unknown.map((n) => `${n}.example`).join(', ')}: add one to scripts/secrets-init.js`,
    );
  }
  const targets = examples.map((n) => path.join(dir, `${n}.${suffix}`));
  const existing = targets.filter((t) => fs.existsSync(t));
  if (existing.length && !force) {
    throw new Error(
      `${existing.map((t) => path.basename(t)).join(', ')} exist already (--force replaces them; ` +
        'Postgres and RabbitMQ keep the password their volume was initialised with)',
    );
  }

  const keysDir = path.join(dir, `jwt_keys.${suffix}`);
  fs.rmSync(keysDir, { recursive: true, force: true });
  fs.mkdirSync(keysDir, { mode: 0o755 });
  fs.chmodSync(keysDir, 0o755); // whatever the umask: the auth container's user lists it
  rotate({ dir: keysDir, mode: MODE });
  let tlsPair;
  const shared = {
    postgres: hex(24),
    app: hex(24),
    rabbitmq: hex(24),
    publicKeys: fs.readFileSync(path.join(keysDir, 'public-keys.pem'), 'utf8'),
    tls: () => (tlsPair ??= selfSignedTls(tlsHost)),
  };

  const written = [`jwt_keys.${suffix}/`];
  for (const name of examples.filter((n) => FILES[n])) {
    const example = fs.readFileSync(path.join(dir, `${name}.example`), 'utf8');
    const file = path.join(dir, `${name}.${suffix}`);
    fs.writeFileSync(file, FILES[name](example, shared), { mode: MODE });
    fs.chmodSync(file, MODE);
    written.push(`${name}.${suffix}`);
  }
  // The files are 644 because the containers' users (postgres, pgbouncer, rabbitmq, node) read them
  // through bind mounts, where the host's directories are not traversed; on the host, the directory
  // keeps every other local user out of the database password, the signing keys and the data keys.
  fs.chmodSync(dir, 0o700);
  return { dir, written: written.sort() };
}

function main() {
  const args = process.argv.slice(2);
  const value = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const suffix = value('--suffix');
  const result = secretsInit({
    suffix,
    dir: value('--dir') ? path.resolve(value('--dir')) : DEFAULT_DIR,
    force: args.includes('--force'),
    tlsHost: value('--tls-host'),
  });
  const say = (line) => process.stdout.write(`${line}\n`);
  say(`wrote ${result.written.length} fresh secrets in ${result.dir}: ${result.written.join(', ')}`);
  say(`start the split stack with PROTOBANK_SECRETS=${suffix}`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`secrets:init: ${err.message}\n`);
    process.exit(1);
  }
}

module.exports = { secretsInit };
