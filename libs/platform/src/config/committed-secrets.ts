import { createHash, createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Secrets that are public knowledge because they are committed to this repository: the placeholders of
 * docker/secrets/*.example, the dev stack's credentials and the modules' development fallbacks. Production
 * refuses every one of them at boot (loadConfig), and any value containing `dev-only-` or logging in as
 * RabbitMQ's `guest:guest`.
 *
 * The list holds SHA-256 digests of each value's canonical form, so that it does not spread the values
 * it refuses. committed-secrets.spec.ts reads every committed file and proves each value refused, by
 * variable: a new *.example file, or a changed one, fails it until this list follows.
 *
 * Canonical forms (see fingerprints()): a password or token as is; a URL's password; a PEM key by its
 * public key (SPKI DER), so a private key and its public half, in any PEM encoding, are the same entry; a
 * 32-byte key (hex or base64) by its bytes.
 */
export const COMMITTED_SECRETS: Readonly<Record<string, string>> = {
  '306c26e622cbd898bc4c8762d31b80a4e4dc5af32503dda2d1bcc33d9cdf1f6a':
    'the example Postgres password of docker/secrets/*.example',
  '666d00596fe56706d21da26e3720889e5ec27d546a2fc1328c13cd4beef99282':
    "the example password of the apps' Postgres login of docker/secrets/*.example",
  '84b7b69d91a5915199dafab6554040966cd41066afcf2af09851b4b89065be05':
    'the example RabbitMQ password of docker/secrets/*.example',
  '8729a83969fbf53a8954bcd676818dd87fbbbdaa0e2b3928a07b3e6c14e2df9d':
    'the example metrics token of docker/secrets/metrics_token.example',
  c1a7d5a83f9f4f582648b450fb6e2a86e013ec62c43278c5f7fa8b66063314d2:
    'the example card network secret of docker/secrets/card_network_secret.example',
  ed65fbd0917c7e926e3456861fbb8883169b6ed2f97e1aeef469fd8ed8fa372c:
    "the cards module's development network secret",
  '78ac345e43a40e086e6fb150331c8a46ae2de7927558d044b661d9d37105a4ef':
    'the example webhook signing secret of docker/secrets/webhook_signing_secret.example',
  aab7c1137f9f766c5bbe4f77c5d508e0e6ad3105686c850dee92671b1db4e7b7:
    'the example card-data key of docker/secrets/card_data_key.example',
  d9474ff09ca3956ab9e19ba034069608eded05e608c1da61c2ccc51eeeba9148:
    'the example KYC key of docker/secrets/kyc_encryption_key.example',
  '9fa2bc733151023932ab72c6bd5905d14c042c2fafff5874367025fe3537f29b':
    "the users module's development KYC key",
  '89a7225b844c38abaec27e9c34322c2044594d75dc2dac7b9241db1c5fcd20cf':
    'the example JWT signing key of docker/secrets/jwt_keys.example (and its public half, jwt_public_key.example)',
  '10225d87d5181c1546e862f1e9955b0dd377edef689c6d23ae80ca21fdc47a9b':
    'the Postgres password of the dev stack (docker/docker-compose.yml)',
  '429f1ff1a8b04fef4fc074946895c18f527f622c004f5802cef086c17439e135':
    "the dev stack's admin password (docker/docker-compose.yml, docker/.env.example)",
  '4a1265ec6cfc321070b0a531fb12ac2754e53538a6682f561a68114273bfb801':
    'the example first-admin password of docker/secrets/admin_password.example',
};

/** What to run instead, per variable; the rest get random bytes. */
const HOW_TO_GENERATE: Record<string, string> = {
  DATABASE_URL: 'a password of your own for the database user (openssl rand -hex 24), set in Postgres too',
  DATABASE_RUNTIME_PASSWORD: "a password of your own for the apps' login (openssl rand -hex 24)",
  DATABASE_LISTEN_URL:
    'a password of your own for the database user (openssl rand -hex 24), set in Postgres too',
  RABBITMQ_URL: 'a RabbitMQ user of your own with a fresh password (openssl rand -hex 24)',
  REDIS_URL: 'a Redis password of your own (openssl rand -hex 24)',
  JWT_KEYS_DIR: 'a fresh key directory: npm run keys:rotate -- --dir <new directory>',
  JWT_PUBLIC_KEY:
    'the public-keys.pem of a fresh key directory (npm run keys:rotate -- --dir <new directory>)',
  JWT_PRIVATE_KEY:
    'a fresh key directory instead (JWT_KEYS_DIR): npm run keys:rotate -- --dir <new directory>',
  KYC_ENCRYPTION_KEY: 'openssl rand -base64 32',
  CARD_DATA_KEY: 'openssl rand -base64 32',
  SMTP_PASSWORD: "your mail relay's password",
  ADMIN_PASSWORD: 'a passphrase of your own',
};

const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function parseUrl(text: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** A 32-byte key written in hex or base64 (CARD_DATA_KEY, KYC_ENCRYPTION_KEY), else undefined. */
function keyBytes(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

/**
 * The digests of a secret's canonical forms: the value, each comma-separated item (secrets accepted
 * together for rotation), a URL's password, the public key of each PEM block, a 32-byte key's bytes.
 */
export function fingerprints(value: string): string[] {
  // PEM in an environment variable may arrive with its newlines escaped, as AppConfig reads it.
  const text = value.replace(/\\n/g, '\n').trim();
  const found = new Set<string>();
  for (const item of new Set([text, ...text.split(',').map((i) => i.trim())])) {
    if (!item) continue;
    found.add(sha256(item));
    const url = parseUrl(item);
    if (url?.password) found.add(sha256(decoded(url.password)));
    const bytes = keyBytes(item);
    if (bytes) found.add(sha256(bytes));
  }
  for (const block of text.match(PEM_BLOCK) ?? []) {
    try {
      found.add(sha256(createPublicKey(block).export({ type: 'spki', format: 'der' })));
    } catch {
      // Not a key this Node reads: the variable's own check reports a malformed one.
    }
  }
  return [...found];
}

/**
 * Why production refuses this secret value, or undefined. Never repeats the value: the answer ends up in
 * logs.
 */
export function developmentSecret(value: string): string | undefined {
  for (const digest of fingerprints(value)) {
    const source = COMMITTED_SECRETS[digest];
    if (source) return `it is ${source}, committed to the repository`;
  }
  const text = value.replace(/\\n/g, '\n').trim();
  const parts = [text];
  for (const item of text.split(',')) {
    const url = parseUrl(item.trim());
    if (!url) continue;
    if (decoded(url.username) === 'guest' && decoded(url.password) === 'guest')
      return "it logs in as RabbitMQ's default user guest:guest";
    parts.push(decoded(url.password));
  }
  if (parts.some((p) => p.toLowerCase().includes('dev-only-')))
    return 'it is a committed development value (dev-only-...)';
  return undefined;
}

/**
 * Why production refuses the signing keys of a key directory (JWT_KEYS_DIR), or undefined: a key file or
 * public-key bundle holding a committed key. A directory that cannot be read is left to the key store,
 * which reports it.
 */
export function developmentKeysDir(dir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.pem'));
  } catch {
    return undefined;
  }
  for (const name of names.sort()) {
    let pem: string;
    try {
      pem = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    const why = developmentSecret(pem);
    if (why) return `its ${name}: ${why}`;
  }
  return undefined;
}

/** The boot error for a refused secret: the variable, the file it came from, why, and what to do. */
export function refusal(name: string, env: NodeJS.ProcessEnv, why: string): string {
  const file = env[`${name}_FILE`];
  const from = file ? ` (from ${name}_FILE=${file})` : name === 'JWT_KEYS_DIR' ? ` (${env[name]})` : '';
  const how = HOW_TO_GENERATE[name] ?? 'openssl rand -hex 32';
  const set = ['SMTP_PASSWORD', 'REDIS_URL'].includes(name)
    ? ''
    : '; `npm run secrets:init -- --suffix <name>` writes a whole set for the split stack (docker/secrets/README.md)';
  return `${name}${from} holds a development value, which production refuses: ${why}. Use ${how}${set}`;
}
