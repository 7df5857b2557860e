import { ConfigSource } from '@protobank/platform';
import { randomBytes } from 'node:crypto';
import { UsersConfig } from './users.config';

const problemsOf = (env: NodeJS.ProcessEnv) => new ConfigSource(env).problems([UsersConfig]);

describe('UsersConfig', () => {
  it('takes a 32-byte base64 key, and none outside production (the development key)', () => {
    expect(problemsOf({ KYC_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).toEqual([]);
    expect(problemsOf({})).toEqual([]);
  });

  it('refuses a key of another length or encoding at boot, without repeating it', () => {
    for (const key of [randomBytes(16).toString('base64'), randomBytes(32).toString('hex'), 'not base64!']) {
      const problems = problemsOf({ KYC_ENCRYPTION_KEY: key });
      expect(problems).toEqual(['KYC_ENCRYPTION_KEY must be 32 bytes, base64-encoded']);
    }
  });

  it('wants a key of its own in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'KYC_ENCRYPTION_KEY (or KYC_ENCRYPTION_KEY_FILE) must be set in production',
    ]);
  });
});
