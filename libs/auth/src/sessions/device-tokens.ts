import { Injectable } from '@nestjs/common';
import { AppConfig, RedisService } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { newSecret, OPAQUE_TOKEN_PATTERN, parseOpaqueToken, secretDigest } from './opaque-token';

const deviceKey = (deviceId: string) => `auth:device:${deviceId}`;

/** The form of a device token: `<device id>.<secret>` (an opaque token). */
export const DEVICE_TOKEN_PATTERN = OPAQUE_TOKEN_PATTERN;

/**
 * Device tokens (OWASP's "device cookies"): issued to a client at a successful login, bound to that user,
 * and presented by the client at its later logins. A login from a device the account already knows is
 * not subject to the e-mail's lockout (which strangers can trigger) but to a lockout of its own device
 * token. Only the secret's SHA-256 is stored; a token lives LOGIN_DEVICE_TOKEN_TTL_DAYS from its last
 * successful login.
 */
@Injectable()
export class DeviceTokens {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  private get ttlSeconds(): number {
    return this.config.loginDeviceTokenTtlDays * 86400;
  }

  async issue(userId: string): Promise<{ deviceId: string; token: string }> {
    const deviceId = randomUUID();
    const secret = newSecret();
    await this.redis.client
      .multi()
      .hset(deviceKey(deviceId), {
        user_id: userId,
        token: secretDigest(secret),
        created_at: new Date().toISOString(),
      })
      .expire(deviceKey(deviceId), this.ttlSeconds)
      .exec();
    return { deviceId, token: `${deviceId}.${secret}` };
  }

  /**
   * The device id when `token` was issued to `userId`; undefined for no token, another user's, a forged or
   * an expired one. Looked up whenever a token is presented, whether or not the e-mail exists, so the time
   * taken tells nothing about the account.
   */
  async knownDevice(
    token: string | undefined,
    userId: string | undefined,
    passwordChangedAt: Date | null = null,
  ): Promise<string | undefined> {
    const parsed = token ? parseOpaqueToken(token) : undefined;
    if (!parsed) return undefined;
    const stored = await this.redis.client.hmget(deviceKey(parsed.id), 'user_id', 'token', 'created_at');
    if (userId === undefined || stored[0] !== userId || stored[1] !== secretDigest(parsed.secret))
      return undefined;
    // A password change forgets the devices that knew the old one (issued before it): they log in again.
    if (passwordChangedAt && !(new Date(stored[2] ?? 0) > passwordChangedAt)) return undefined;
    return parsed.id;
  }

  /** A known device logged in again: it stays known for another full lifetime. */
  async renew(deviceId: string): Promise<void> {
    await this.redis.client.expire(deviceKey(deviceId), this.ttlSeconds);
  }
}
