import { Injectable } from '@nestjs/common';
import { RedisScript, RedisService } from '@protobank/platform';
import { passwordMark } from '../credentials/passwords';
import { newSecret, parseOpaqueToken, secretDigest } from '../sessions/opaque-token';

/** How long a reset token works once e-mailed. */
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;

const resetKey = (userId: string) => `auth:password-reset:${userId}`;

/** Deletes the user's reset token if it is still the one presented: of two uses at once, one gets it. */
const CONSUME = new RedisScript(`
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** A reset token a client presented, once found to be the user's current one. */
export interface IssuedReset {
  userId: string;
  digest: string;
  /** passwordMark of the hash the token was issued under. */
  password: string;
}

/**
 * Password-reset tokens: `<user id>.<secret>` (an opaque token), one per user at a time (asking again
 * replaces it), working once, for RESET_TOKEN_TTL_SECONDS, and only while the password is the one it was
 * issued under. Redis keeps the secret's SHA-256, never the token: a copy of Redis resets nothing.
 */
@Injectable()
export class ResetTokens {
  constructor(private readonly redis: RedisService) {}

  /** A new token for `userId`, bound to the password hash it has now; the previous one stops working. */
  async issue(userId: string, passwordHash: string): Promise<string> {
    const secret = newSecret();
    const key = resetKey(userId);
    await this.redis.client
      .multi()
      .del(key)
      .hset(key, { token: secretDigest(secret), password: passwordMark(passwordHash) })
      .expire(key, RESET_TOKEN_TTL_SECONDS)
      .exec();
    return `${userId}.${secret}`;
  }

  /** The token's user when it is that user's current, unexpired, unused one; undefined for anything else. */
  async find(token: string): Promise<IssuedReset | undefined> {
    const parsed = parseOpaqueToken(token);
    if (!parsed) return undefined;
    const [digest, password] = await this.redis.client.hmget(resetKey(parsed.id), 'token', 'password');
    const presented = secretDigest(parsed.secret);
    if (digest === null || password === null || digest !== presented) return undefined;
    return { userId: parsed.id, digest, password };
  }

  /** Uses the token up: true for the one caller that did, false when it was used (or replaced) meanwhile. */
  async consume(reset: IssuedReset): Promise<boolean> {
    return (await CONSUME.run(this.redis.client, [resetKey(reset.userId)], [reset.digest])) === 1;
  }

  /** Forgets the user's token, if any (their password changed: it would no longer work anyway). */
  async discard(userId: string): Promise<void> {
    await this.redis.client.del(resetKey(userId));
  }
}
