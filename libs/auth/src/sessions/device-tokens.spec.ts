import { DeviceTokens } from './device-tokens';

/** A Redis stand-in holding hashes: just what DeviceTokens calls (multi/hset/expire/exec, hmget). */
function fakeRedis() {
  const hashes = new Map<string, Record<string, string>>();
  const client = {
    multi() {
      const ops: (() => void)[] = [];
      const chain = {
        hset(key: string, fields: Record<string, string>) {
          ops.push(() => hashes.set(key, { ...(hashes.get(key) ?? {}), ...fields }));
          return chain;
        },
        expire() {
          return chain;
        },
        exec: async () => ops.forEach((op) => op()),
      };
      return chain;
    },
    hmget: async (key: string, ...fields: string[]) => fields.map((f) => hashes.get(key)?.[f] ?? null),
  };
  return { hashes, service: { client } };
}

describe('DeviceTokens', () => {
  const USER = '11111111-1111-4111-8111-111111111111';
  const setup = () => {
    const redis = fakeRedis();
    const devices = new DeviceTokens(redis.service as never, { loginDeviceTokenTtlDays: 30 } as never);
    return { redis, devices };
  };
  const credential = (password_hash: string, password_changed_at: Date | null = null) => ({
    user_id: USER,
    password_hash,
    password_changed_at,
  });

  it('knows a device only under the password its login was checked against', async () => {
    const { devices } = setup();
    const { deviceId, token } = await devices.issue(USER, '$argon2id$old');
    expect(await devices.knownDevice(token, credential('$argon2id$old'))).toBe(deviceId);
    // The password changed (also after a login with the old one issued this token): unknown.
    expect(await devices.knownDevice(token, credential('$argon2id$new', new Date()))).toBeUndefined();
    // Another user's, a forged secret, no credential: unknown.
    expect(
      await devices.knownDevice(token, { ...credential('$argon2id$old'), user_id: 'someone else' }),
    ).toBeUndefined();
    expect(
      await devices.knownDevice(`${deviceId}.${'x'.repeat(43)}`, credential('$argon2id$old')),
    ).toBeUndefined();
    expect(await devices.knownDevice(token, undefined)).toBeUndefined();
  });

  it('keeps a token from before devices were bound to a password only while the password never changed', async () => {
    const { redis, devices } = setup();
    const { deviceId, token } = await devices.issue(USER, '$argon2id$old');
    delete redis.hashes.get(`auth:device:${deviceId}`)!.password; // as issued by the release before
    expect(await devices.knownDevice(token, credential('$argon2id$old'))).toBe(deviceId);
    expect(await devices.knownDevice(token, credential('$argon2id$old', new Date()))).toBeUndefined();
  });

  it('stores no password and no hash, only a digest of the hash', async () => {
    const { redis, devices } = setup();
    const { deviceId } = await devices.issue(USER, '$argon2id$v=19$secret-hash');
    const stored = JSON.stringify(redis.hashes.get(`auth:device:${deviceId}`));
    expect(stored).not.toContain('argon2');
    expect(stored).not.toContain('secret-hash');
  });
});
