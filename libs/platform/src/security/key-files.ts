import type { VerificationKey } from '@protobank/contracts';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** A public key of access tokens as published (RFC 7517): the contract's key without its window. */
export type PublicJwk = Omit<VerificationKey, 'verify_until'>;

export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function publicJwk(key: KeyObject): PublicJwk {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const { x, y } = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  // RFC 7638: the thumbprint covers the required members in lexicographic order, so the key id changes
  // exactly when the key does, and every app computes the same one.
  const kid = createHash('sha256')
    .update(JSON.stringify({ crv: 'P-256', kty: 'EC', x, y }))
    .digest('base64url');
  return { kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' };
}

/** One signing key of the key ring: its private half (auth only), when it was made, its public JWK. */
export interface SigningKey {
  createdAt: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublicJwk;
}

/**
 * Key files are named after the moment they were made (UTC, `:` written `-`), e.g.
 * `2026-01-31T12-00-00.000Z.pem`: the newest signs. scripts/keys-rotate.js writes the same names.
 * Other files in the directory (the public-key bundle, a README) are not keys.
 */
const KEY_FILE = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(\.\d{3})?Z\.pem$/;

export const keyFileName = (at: Date) => `${at.toISOString().replace(/:/g, '-')}.pem`;

export function signingKey(pem: string, createdAt: number, what: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error(`${what} is not a PEM private key`);
  }
  if (!isP256(privateKey)) throw new Error(`${what} must be an EC P-256 key (ES256)`);
  const publicKey = createPublicKey(privateKey);
  return { createdAt, privateKey, publicKey, jwk: publicJwk(publicKey) };
}

/**
 * The keys of a key directory, oldest first. A file that is not a P-256 private key is an error naming
 * it, unless `skip` is given: it is then told, and the file left out (so one bad file cannot keep a
 * removed key in use).
 */
export function readKeysDir(dir: string, skip?: (file: string, err: Error) => void): SigningKey[] {
  const keys: SigningKey[] = [];
  for (const name of readdirSync(dir)) {
    const m = KEY_FILE.exec(name);
    if (!m) continue;
    const createdAt = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}${m[5] ?? ''}Z`);
    if (Number.isNaN(createdAt)) continue;
    try {
      keys.push(signingKey(readFileSync(join(dir, name), 'utf8'), createdAt, `${join(dir, name)}`));
    } catch (err) {
      if (!skip) throw err;
      skip(join(dir, name), err as Error);
    }
  }
  return keys.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Development only: the key directory every app of this checkout shares, with a first key made by
 * whichever app starts first. The Ed25519 file of earlier releases (.data/jwt/keys.json) is not read:
 * it is removed, and a P-256 key is made in its place.
 */
export function devKeysDir(root = process.cwd()): string {
  const dir = join(root, '.data', 'jwt', 'keys');
  const legacy = join(root, '.data', 'jwt', 'keys.json');
  if (existsSync(legacy)) unlinkSync(legacy);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let usable = false;
  try {
    usable = readKeysDir(dir).length > 0;
  } catch {
    usable = false; // a broken development key: make a fresh one beside it, which is newer and signs
  }
  if (!usable) {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    // A name from the second only, so two apps starting at once race for the same file: link is atomic
    // and exclusive, and the loser keeps the winner's key.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const target = join(dir, keyFileName(at));
    const temp = join(dir, `.${process.pid}.tmp`);
    writeFileSync(temp, pem, { mode: 0o600 });
    try {
      linkSync(temp, target);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(temp);
    }
    // A broken key file stays an error: move it away so the directory reads again.
    for (const name of readdirSync(dir)) {
      if (!KEY_FILE.test(name) || join(dir, name) === target) continue;
      try {
        signingKey(readFileSync(join(dir, name), 'utf8'), 0, name);
      } catch {
        unlinkSync(join(dir, name));
      }
    }
  }
  return dir;
}
