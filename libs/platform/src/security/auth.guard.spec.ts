import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { generateKeyPairSync } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import type { AppError } from '../errors/app-error';
import type { RedisService } from '../redis/redis.module';
import { signAccessToken } from './access-token';
import { AuthGuard } from './auth.guard';
import { sessionKey } from './session-registry';
import { TokenKeys } from './token-keys';

const pair = generateKeyPairSync('ed25519');
const keys = new TokenKeys(pair.publicKey, pair.privateKey);
const config = { jwtIssuer: 'protobank', jwtAudience: 'protobank-api' } as AppConfig;
const now = Math.floor(Date.now() / 1000);
const token = signAccessToken(
  {
    sub: 'u1',
    role: 'customer',
    sid: 's1',
    iat: now,
    exp: now + 900,
    iss: 'protobank',
    aud: 'protobank-api',
  },
  keys,
);

function request(): ExecutionContext {
  const req = { headers: { authorization: `Bearer ${token}` }, query: {} };
  const res = { header: () => res };
  return {
    getType: () => 'http',
    getHandler: () => request,
    getClass: () => AuthGuard,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
}

describe('AuthGuard and revoked sessions', () => {
  it('asks Redis for the session on every request, so a remembered token is refused once its session ends', async () => {
    const live = new Set([sessionKey('s1')]);
    const asked: string[] = [];
    const redis = {
      client: {
        exists: async (key: string) => {
          asked.push(key);
          return live.has(key) ? 1 : 0;
        },
      },
    } as unknown as RedisService;
    const guard = new AuthGuard(new Reflector(), keys, config, redis);
    await expect(guard.canActivate(request())).resolves.toBe(true);
    await expect(guard.canActivate(request())).resolves.toBe(true); // now from the verified-token memory
    live.delete(sessionKey('s1')); // revoked (logout, disabled user, role change)
    const refused = await guard.canActivate(request()).catch((err: AppError) => err);
    expect(refused).toMatchObject({ status: 401, code: 'session_ended' });
    expect(asked).toEqual([sessionKey('s1'), sessionKey('s1'), sessionKey('s1')]);
  });
});
