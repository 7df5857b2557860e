import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/app-config';

/** The Ed25519 keys of access tokens: every app verifies with the public key; auth alone signs. */
export class TokenKeys {
  readonly kid: string;
  readonly jwk: { kty: string; crv: string; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };

  constructor(
    readonly publicKey: KeyObject,
    readonly privateKey: KeyObject | undefined,
  ) {
    const { kty, crv, x } = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
    // RFC 7638 thumbprint: the key id changes exactly when the key does.
    this.kid = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
    this.jwk = { kty, crv, x, kid: this.kid, alg: 'EdDSA', use: 'sig' };
  }
}

const DEV_KEYS = join(process.cwd(), '.data', 'jwt', 'keys.json');

/** Development only: one key pair for every app of this checkout, created by whichever app starts first. */
function devKeys(): { publicKey: string; privateKey: string } {
  if (!existsSync(DEV_KEYS)) {
    mkdirSync(join(DEV_KEYS, '..'), { recursive: true });
    const pair = generateKeyPairSync('ed25519');
    const body = JSON.stringify({
      publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }),
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    });
    const temp = `${DEV_KEYS}.${process.pid}`;
    writeFileSync(temp, body, { mode: 0o600 });
    try {
      linkSync(temp, DEV_KEYS); // atomic and exclusive: if another app won the race, keep its pair
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(temp);
    }
  }
  return JSON.parse(readFileSync(DEV_KEYS, 'utf8')) as { publicKey: string; privateKey: string };
}

export function loadTokenKeys(config: AppConfig): TokenKeys {
  let publicPem = config.jwtPublicKey;
  let privatePem = config.jwtPrivateKey;
  if (!publicPem) {
    if (config.isProduction)
      throw new Error('JWT_PUBLIC_KEY (or JWT_PUBLIC_KEY_FILE) must be set in production');
    ({ publicKey: publicPem, privateKey: privatePem } = devKeys());
  }
  let publicKey: KeyObject;
  let privateKey: KeyObject | undefined;
  try {
    publicKey = createPublicKey(publicPem);
  } catch {
    throw new Error('JWT_PUBLIC_KEY is not a PEM public key');
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('JWT_PUBLIC_KEY must be an Ed25519 key');
  if (privatePem) {
    try {
      privateKey = createPrivateKey(privatePem);
    } catch {
      throw new Error('JWT_PRIVATE_KEY is not a PEM private key');
    }
    const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    if (!derived.equals(publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new Error('JWT_PRIVATE_KEY does not belong to JWT_PUBLIC_KEY');
    }
  }
  return new TokenKeys(publicKey, privateKey);
}
