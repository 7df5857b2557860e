import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../config/app-config';
import { loadTokenKeys } from './token-keys';

const pem = () => {
  const p = generateKeyPairSync('ed25519');
  return {
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
};

describe('loadTokenKeys', () => {
  it('loads a configured pair, also with escaped newlines', () => {
    const { pub, priv } = pem();
    const keys = loadTokenKeys(
      loadConfig({ JWT_PUBLIC_KEY: pub.replace(/\n/g, '\\n'), JWT_PRIVATE_KEY: priv }),
    );
    expect(keys.privateKey).toBeDefined();
    expect(keys.jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: keys.kid });
  });

  it('verifies without a private key (every app but auth)', () => {
    expect(loadTokenKeys(loadConfig({ JWT_PUBLIC_KEY: pem().pub })).privateKey).toBeUndefined();
  });

  it('refuses a private key of another pair, a non-Ed25519 key, and no key in production', () => {
    expect(() =>
      loadTokenKeys(loadConfig({ JWT_PUBLIC_KEY: pem().pub, JWT_PRIVATE_KEY: pem().priv })),
    ).toThrow('JWT_PRIVATE_KEY does not belong to JWT_PUBLIC_KEY');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(() => loadTokenKeys(loadConfig({ JWT_PUBLIC_KEY: rsa }))).toThrow(
      'JWT_PUBLIC_KEY must be an Ed25519 key',
    );
    const production = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db/x',
      REDIS_URL: 'redis://r:6379',
      RABBITMQ_URL: 'amqp://u:p@mq:5672',
    });
    expect(() => loadTokenKeys(production)).toThrow(
      'JWT_PUBLIC_KEY (or JWT_PUBLIC_KEY_FILE) must be set in production',
    );
  });
});
