import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { devKeysDir, isP256, publicJwk, readKeysDir, signingKey, type SigningKey } from './key-files';
import type { RingKey } from './key-ring';
import { keySchedule } from './key-schedule';

/** What an app of a production deployment configured with no access-token key at all is told. */
const NO_KEYS =
  'JWT_KEYS_DIR (or JWT_PRIVATE_KEY_FILE) where auth runs, JWT_PUBLIC_KEY_FILE elsewhere: production needs the access-token keys';
const noKeyIn = (dir: string) => `JWT_KEYS_DIR (${dir}) holds no key: run npm run keys:rotate`;

/**
 * Whether an app can sign access tokens, as the app hosting auth must: JWT_KEYS_DIR or JWT_PRIVATE_KEY
 * is set, or in development neither they nor JWT_PUBLIC_KEY is (the development keys are then made).
 */
export function signingKeyConfigured(config: AppConfig): boolean {
  if (config.jwtKeysDir || config.jwtPrivateKey) return true;
  return !config.isProduction && !config.jwtPublicKey;
}

/**
 * Where the signing keys are: JWT_KEYS_DIR (rotatable without a restart), JWT_PRIVATE_KEY (one key, the
 * form of earlier releases), or in development, when neither is set, .data/jwt/keys (made on first use).
 * Production has no fallback.
 */
export function signingKeySource(config: AppConfig): { dir: string } | { key: SigningKey } | undefined {
  if (config.jwtKeysDir) return { dir: config.jwtKeysDir };
  if (config.jwtPrivateKey) return { key: signingKey(config.jwtPrivateKey, 0, 'JWT_PRIVATE_KEY') };
  if (!signingKeyConfigured(config)) return undefined;
  return { dir: devKeysDir() };
}

/**
 * What would stop bootKeys, found before anything connects (runApp): a key variable that does not hold a
 * P-256 key, a key directory that does not read or holds none, or no key at all in production. Each
 * problem names its variable, never a key. Makes nothing: the development keys are left to bootKeys.
 */
export function keyProblems(config: AppConfig): string[] {
  const problems: string[] = [];
  const check = (what: () => unknown) => {
    try {
      what();
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  if (config.jwtPublicKey) check(() => configuredPublicKeys(config.jwtPublicKey!));
  if (config.jwtPrivateKey) check(() => signingKey(config.jwtPrivateKey!, 0, 'JWT_PRIVATE_KEY'));
  const dir = config.jwtKeysDir;
  if (dir) {
    try {
      if (readKeysDir(dir).length === 0) problems.push(noKeyIn(dir));
    } catch (err) {
      // The directory, or one key file in it (its owner or mode, a dangling link), named as it is.
      const { code, path } = err as NodeJS.ErrnoException;
      problems.push(
        !code
          ? `JWT_KEYS_DIR (${dir}): ${(err as Error).message}`
          : path && path !== dir
            ? `JWT_KEYS_DIR (${dir}): ${path} does not read (${code})`
            : `JWT_KEYS_DIR (${dir}) does not read (${code})`,
      );
    }
  }
  if (config.isProduction && !config.jwtPublicKey && !config.jwtPrivateKey && !dir) problems.push(NO_KEYS);
  return problems;
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
    if (keys.length === 0) throw new Error(noKeyIn(source.dir));
    const policy = {
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshSeconds: config.jwtKeysRefreshSeconds,
    };
    for (const { key, verifyUntil } of keySchedule(keys, nowMs, policy).verifying) {
      found.push({ key: key.publicKey, jwk: key.jwk, verifyUntil });
    }
  }
  if (found.length === 0) throw new Error(NO_KEYS);
  return found;
}
