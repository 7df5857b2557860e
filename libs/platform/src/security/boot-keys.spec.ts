import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/app-config';
import { bootKeys, keyProblems, signingKeySource } from './boot-keys';
import { devKeysDir, keyFileName, publicJwk, readKeysDir } from './key-files';
import { scratchDirs } from '../../../../test/support/scratch-dirs';

const scratch = scratchDirs();

const p256 = () => {
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    kid: publicJwk(p.publicKey).kid,
  };
};
const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db/x',
  REDIS_URL: 'redis://r:6379',
  RABBITMQ_URL: 'amqp://u:p@mq:5672',
};

describe('boot keys', () => {
  it('trusts every PEM block of JWT_PUBLIC_KEY, also with escaped newlines', () => {
    const [a, b] = [p256(), p256()];
    const keys = bootKeys(loadConfig({ JWT_PUBLIC_KEY: `${a.pub}${b.pub}`.replace(/\n/g, '\\n') }));
    expect(keys.map((k) => k.jwk.kid)).toEqual([a.kid, b.kid]);
    expect(keys[0].jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });

  it('signs with JWT_PRIVATE_KEY when no directory is set, and refuses both at once', () => {
    const a = p256();
    const config = loadConfig({ JWT_PRIVATE_KEY: a.priv });
    expect(bootKeys(config).map((k) => k.jwk.kid)).toEqual([a.kid]);
    expect(signingKeySource(config)).toMatchObject({ key: { jwk: { kid: a.kid } } });
    expect(() => loadConfig({ JWT_PRIVATE_KEY: a.priv, JWT_KEYS_DIR: '/x' })).toThrow(/set one/);
  });

  it('reads a key directory: its keys by creation time, other files ignored, a bad key named (or skipped on a re-read)', () => {
    const dir = scratch('pb-keys-');
    const [a, b] = [p256(), p256()];
    writeFileSync(join(dir, keyFileName(new Date('2026-01-02T00:00:00Z'))), b.priv);
    writeFileSync(join(dir, keyFileName(new Date('2026-01-01T00:00:00Z'))), a.priv);
    writeFileSync(join(dir, 'public-keys.pem'), a.pub);
    expect(readKeysDir(dir).map((k) => k.jwk.kid)).toEqual([a.kid, b.kid]);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const bad = keyFileName(new Date('2026-01-03T00:00:00Z'));
    writeFileSync(join(dir, bad), ed);
    expect(() => readKeysDir(dir)).toThrow(`${join(dir, bad)} must be an EC P-256 key (ES256)`);
    // On a re-read (auth's refresh), the bad file is reported and left out; the good keys still read.
    const skipped: string[] = [];
    expect(readKeysDir(dir, (file) => skipped.push(file)).map((k) => k.jwk.kid)).toEqual([a.kid, b.kid]);
    expect(skipped).toEqual([join(dir, bad)]);
  });

  it('refuses Ed25519 keys of earlier releases, and no key at all in production', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => bootKeys(loadConfig({ JWT_PUBLIC_KEY: ed }))).toThrow(
      'JWT_PUBLIC_KEY must hold EC P-256 keys (ES256)',
    );
    expect(() => bootKeys(loadConfig(production))).toThrow(/production needs the access-token keys/);
    expect(signingKeySource(loadConfig(production))).toBeUndefined();
  });

  it('finds before connecting what would stop bootKeys, naming the variable and never a key', () => {
    const a = p256();
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const garbled = a.priv.replace(/\n(.{8})/, '\n$1!');
    expect(keyProblems(loadConfig({ JWT_PUBLIC_KEY: 'not a key' }))).toEqual([
      'JWT_PUBLIC_KEY holds no PEM public key',
    ]);
    expect(keyProblems(loadConfig({ JWT_PUBLIC_KEY: a.pub, JWT_PRIVATE_KEY: garbled }))).toEqual([
      'JWT_PRIVATE_KEY is not a PEM private key',
    ]);
    expect(keyProblems(loadConfig({ JWT_PRIVATE_KEY: ed }))).toEqual([
      'JWT_PRIVATE_KEY must be an EC P-256 key (ES256)',
    ]);
    const empty = scratch('pb-keys-empty-');
    expect(keyProblems(loadConfig({ JWT_KEYS_DIR: empty }))).toEqual([
      `JWT_KEYS_DIR (${empty}) holds no key: run npm run keys:rotate`,
    ]);
    const missing = join(empty, 'nowhere');
    expect(keyProblems(loadConfig({ JWT_KEYS_DIR: missing }))).toEqual([
      `JWT_KEYS_DIR (${missing}) does not read (ENOENT)`,
    ]);
    const dangling = scratch('pb-keys-dangling-');
    const link = join(dangling, keyFileName(new Date('2026-01-01T00:00:00Z')));
    symlinkSync(join(dangling, 'gone.pem'), link);
    expect(keyProblems(loadConfig({ JWT_KEYS_DIR: dangling }))).toEqual([
      `JWT_KEYS_DIR (${dangling}): ${link} does not read (ENOENT)`,
    ]);
    const broken = scratch('pb-keys-broken-');
    writeFileSync(join(broken, keyFileName(new Date('2026-01-01T00:00:00Z'))), ed);
    expect(keyProblems(loadConfig({ JWT_KEYS_DIR: broken }))).toEqual([
      expect.stringMatching(/^JWT_KEYS_DIR \(.+\): .+ must be an EC P-256 key \(ES256\)$/),
    ]);
    expect(keyProblems(loadConfig(production))).toEqual([
      expect.stringMatching(/^JWT_KEYS_DIR .+production needs the access-token keys$/),
    ]);
    // Every problem above bootKeys throws too; and what boots, boots.
    expect(() => bootKeys(loadConfig({ JWT_KEYS_DIR: empty }))).toThrow(/holds no key/);
    expect(keyProblems(loadConfig({ ...production, JWT_PUBLIC_KEY: a.pub }))).toEqual([]);
    expect(keyProblems(loadConfig({ JWT_PRIVATE_KEY: a.priv }))).toEqual([]);
    const messages = [
      ...keyProblems(loadConfig({ JWT_PRIVATE_KEY: garbled })),
      ...keyProblems(loadConfig({ JWT_PUBLIC_KEY: a.priv })),
    ].join('\n');
    for (const line of a.priv.split('\n').filter((l) => l && !l.startsWith('-----')))
      expect(messages).not.toContain(line);
  });

  it('makes a development key once, replacing the Ed25519 file of earlier releases', () => {
    const root = scratch('pb-dev-');
    mkdirSync(join(root, '.data', 'jwt'), { recursive: true });
    writeFileSync(join(root, '.data', 'jwt', 'keys.json'), '{"publicKey":"ed25519…"}');
    const dir = devKeysDir(root);
    expect(existsSync(join(root, '.data', 'jwt', 'keys.json'))).toBe(false);
    const first = readKeysDir(dir);
    expect(first).toHaveLength(1);
    expect(devKeysDir(root)).toBe(dir);
    expect(readKeysDir(dir).map((k) => k.jwk.kid)).toEqual([first[0].jwk.kid]);
    // A broken development key is replaced, not a reason not to start.
    writeFileSync(join(dir, keyFileName(new Date('2000-01-01T00:00:00Z'))), 'not a key');
    devKeysDir(root);
    expect(readKeysDir(dir).length).toBeGreaterThanOrEqual(1);
    expect(readdirSync(dir).some((n) => n.startsWith('2000-'))).toBe(false);
  });
});
