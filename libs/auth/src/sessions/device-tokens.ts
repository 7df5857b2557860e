import { Injectable } from '@nestjs/common';
import { RedisService } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { passwordMark } from '../credentials/passwords';
import { newSecret, OPAQUE_TOKEN_PATTERN, parseOpaqueToken, secretDigest } from './opaque-token';
import { AuthConfig } from '../auth.config';

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
    private readonly config: AuthConfig,
  ) {}

  private get ttlSeconds(): number {
    return this.config.loginDeviceTokenTtlDays * 86400;
  }

  /**
   * A new device token for `userId`, bound to the password hash its login was checked against (its
   * passwordMark): a password change makes every device issued before it, or by a login checked against the
   * old password racing it, unknown again.
   */
  async issue(userId: string, passwordHash: string): Promise<{ deviceId: string; token: string }> {
    const deviceId = randomUUID();
    const secret = newSecret();
    await this.redis.client
      .multi()
      .hset(deviceKey(deviceId), {
        user_id: userId,
        token: secretDigest(secret),
        password: passwordMark(passwordHash),
        created_at: new Date().toISOString(),
      })
      .expire(deviceKey(deviceId), this.ttlSeconds)
      .exec();
    return { deviceId, token: `${deviceId}.${secret}` };
  }

  /**
   * The device id when `token` was issued to `userId` under its current password (`passwordHash`);
   * undefined for no token, another user's, a forged or an expired one, or one issued under an earlier
   * password (one from before devices were bound to a password counts as long as it was never changed:
   * `passwordChangedAt` null). Looked up whenever a token is presented, whether or not the e-mail exists, so the time
   * taken tells nothing about the account.
   */
  async knownDevice(
    token: string | undefined,
    credential: { user_id: string; password_hash: string; password_changed_at: Date | null } | undefined,
  ): Promise<string | undefined> {
    const parsed = token ? parseOpaqueToken(token) : undefined;
    if (!parsed) return undefined;
    const [userId, digest, password] = await this.redis.client.hmget(
      deviceKey(parsed.id),
      'user_id',
      'token',
      'password',
    );
    if (!credential || userId !== credential.user_id || digest !== secretDigest(parsed.secret))
      return undefined;
    const current =
      password === null
        ? credential.password_changed_at === null
        : password === passwordMark(credential.password_hash);
    return current ? parsed.id : undefined;
  }

  /** A known device logged in again: it stays known for another full lifetime. */
  async renew(deviceId: string): Promise<void> {
    await this.redis.client.expire(deviceKey(deviceId), this.ttlSeconds);
  }
}
