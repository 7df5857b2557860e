import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { devKeysDir, isP256, publicJwk, readKeysDir, signingKey, type SigningKey } from './key-files';
import type { RingKey } from './key-ring';
import { keySchedule } from './key-schedule';

/**
 * Where the signing keys are: JWT_KEYS_DIR (rotatable without a restart), JWT_PRIVATE_KEY (one key, the
 * form of earlier releases), or in development, when neither is set, .data/jwt/keys (made on first use).
 * Production has no fallback.
 */
export function signingKeySource(config: AppConfig): { dir: string } | { key: SigningKey } | undefined {
  if (config.jwtKeysDir) return { dir: config.jwtKeysDir };
  if (config.jwtPrivateKey) return { key: signingKey(config.jwtPrivateKey, 0, 'JWT_PRIVATE_KEY') };
  if (config.isProduction || config.jwtPublicKey) return undefined;
  return { dir: devKeysDir() };
}

/** The PEM public keys of JWT_PUBLIC_KEY: one or several blocks, each P-256. */
export function configuredPublicKeys(pem: string): KeyObject[] {
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new Error('JWT_PUBLIC_KEY holds no PEM public key');
  return blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch {
      throw new Error('JWT_PUBLIC_KEY is not a PEM public key');
    }
    if (!isP256(key)) throw new Error('JWT_PUBLIC_KEY must hold EC P-256 keys (ES256)');
    return key;
  });
}

/**
 * The keys an app verifies with from its first request: those of JWT_PUBLIC_KEY, and the public halves of
 * the signing keys when it can read them. The ring then follows auth (key-ring.ts).
 */
export function bootKeys(config: AppConfig, nowMs = Date.now()): RingKey[] {
  const found: RingKey[] = [];
  if (config.jwtPublicKey) {
    for (const key of configuredPublicKeys(config.jwtPublicKey)) {
      found.push({ key, jwk: publicJwk(key), verifyUntil: null });
    }
  }
  const source = signingKeySource(config);
  if (source && 'key' in source) {
    found.push({ key: source.key.publicKey, jwk: source.key.jwk, verifyUntil: null });
  } else if (source) {
    const keys = readKeysDir(source.dir);
    if (keys.length === 0)
      throw new Error(`JWT_KEYS_DIR (${source.dir}) holds no key: run npm run keys:rotate`);
    const policy = {
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshSeconds: config.jwtKeysRefreshSeconds,
    };
    for (const { key, verifyUntil } of keySchedule(keys, nowMs, policy).verifying) {
      found.push({ key: key.publicKey, jwk: key.jwk, verifyUntil });
    }
  }
  if (found.length === 0) {
    throw new Error(
      'production needs the access-token keys: JWT_KEYS_DIR (or JWT_PRIVATE_KEY_FILE) where auth runs, JWT_PUBLIC_KEY_FILE elsewhere',
    );
  }
  return found;
}
