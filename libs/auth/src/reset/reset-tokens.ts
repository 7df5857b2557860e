import { Injectable } from '@nestjs/common';
import { RedisScript, RedisService } from '@protobank/platform';
import { passwordMark } from '../credentials/passwords';
import { newSecret, parseOpaqueToken, secretDigest } from '../sessions/opaque-token';

/** How long a reset token works once e-mailed. */
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;

const resetKey = (userId: string) => `auth:password-reset:${userId}`;

/**
 * Deletes the user's reset token if it is still the one named (of two uses at once, one gets it), and
 * answers the milliseconds it had left (0: not deleted).
 */
const CONSUME = new RedisScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local left = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
if left < 1 then return 1 end
return left
`);

/** Puts a consumed token back with the time it had left, unless a newer one was issued meanwhile. */
const RESTORE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** A reset token a client presented, once found to be the user's current one. */
export interface IssuedReset {
  userId: string;
  digest: string;
  /** passwordMark of the hash the token was issued under. */
  password: string;
  /** The user's session generation when it was issued: every revocation since (a disable, a role change, a logout-all) ends it. */
  generation: string;
  /** The staff member who had it sent (POST /admin/auth/users/{id}/password-reset); absent for a self-service ask. */
  sentBy?: ResetSender;
}

/**
 * Who had a reset e-mail sent, and their own session generation then: a disable, role change or logout-all
 * of theirs since ends the link, also once undone (a suspended sender restored within the 30 minutes).
 */
export interface ResetSender {
  userId: string;
  generation: string;
}

/**
 * Why an account is sent no reset e-mail and takes no reset token, if it is not a customer's in good
 * standing. Staff and admin passwords are not reset by e-mail on their own asking (whoever got into the
 * mailbox would hold the role), only when staff had it sent (`sentByStaff`): for a colleague's account
 * that is always an admin, checked when it is sent and again when it is used (PasswordResetService).
 */
export function notResettable(
  profile: { disabled: boolean; role: string },
  sentByStaff = false,
): 'disabled' | 'staff' | undefined {
  if (profile.disabled) return 'disabled';
  return profile.role === 'customer' || sentByStaff ? undefined : 'staff';
}

/** The Redis hash a token is kept as (find reads these fields back). */
function storedFields(
  reset: Pick<IssuedReset, 'digest' | 'password' | 'generation' | 'sentBy'>,
): Record<string, string> {
  const fields = { token: reset.digest, password: reset.password, generation: reset.generation };
  const { sentBy } = reset;
  return sentBy ? { ...fields, sent_by: sentBy.userId, sent_by_generation: sentBy.generation } : fields;
}

/**
 * Password-reset tokens: `<user id>.<secret>` (an opaque token), one per user at a time (asking again
 * replaces it), working once, for RESET_TOKEN_TTL_SECONDS, only while the password is the one it was
 * issued under and no revocation of the user's sessions came since. Redis keeps the secret's SHA-256,
 * never the token: a copy of Redis resets nothing.
 */
@Injectable()
export class ResetTokens {
  constructor(private readonly redis: RedisService) {}

  /**
   * A new token for `userId`, bound to the password hash it has now and to `generation` (read before the
   * account was checked, so a disable racing the check ends it); the previous one stops working. `sentBy`:
   * the admin who had it sent, for a staff member's or an admin's account.
   */
  async issue(
    userId: string,
    passwordHash: string,
    generation: string,
    sentBy?: ResetSender,
  ): Promise<string> {
    const secret = newSecret();
    const key = resetKey(userId);
    const fields = storedFields({
      digest: secretDigest(secret),
      password: passwordMark(passwordHash),
      generation,
      sentBy,
    });
    await this.redis.client.multi().del(key).hset(key, fields).expire(key, RESET_TOKEN_TTL_SECONDS).exec();
    return `${userId}.${secret}`;
  }

  /** The token's user when it is that user's current, unexpired, unused one; undefined for anything else. */
  async find(token: string): Promise<IssuedReset | undefined> {
    const parsed = parseOpaqueToken(token);
    if (!parsed) return undefined;
    const [digest, password, generation, sentBy, sentByGeneration] = await this.redis.client.hmget(
      resetKey(parsed.id),
      'token',
      'password',
      'generation',
      'sent_by',
      'sent_by_generation',
    );
    if (digest === null || password === null || generation === null) return undefined;
    if (digest !== secretDigest(parsed.secret)) return undefined;
    return {
      userId: parsed.id,
      digest,
      password,
      generation,
      ...(sentBy !== null && { sentBy: { userId: sentBy, generation: sentByGeneration ?? '' } }),
    };
  }

  /**
   * Uses the token up: for the one caller that did, the milliseconds it had left (restore takes them);
   * 0 when it was used (or replaced) meanwhile.
   */
  async consume(reset: Pick<IssuedReset, 'userId' | 'digest'>): Promise<number> {
    return Number(await CONSUME.run(this.redis.client, [resetKey(reset.userId)], [reset.digest]));
  }

  /**
   * Gives a consumed token back for the time it had left (`leftMs`, from consume), when the password
   * could not be set (the database failed): the customer tries the link again instead of asking for a new
   * e-mail. Not over a newer token; and a token whose password or session generation changed meanwhile
   * is stale when used, as before.
   */
  async restore(reset: IssuedReset, leftMs: number): Promise<void> {
    const fields = Object.entries(storedFields(reset)).flat();
    await RESTORE.run(this.redis.client, [resetKey(reset.userId)], [leftMs, ...fields]);
  }

  /** Withdraws `token` (an e-mail that could not be sent), unless a newer one replaced it meanwhile. */
  async withdraw(token: string): Promise<void> {
    const parsed = parseOpaqueToken(token);
    if (parsed) await this.consume({ userId: parsed.id, digest: secretDigest(parsed.secret) });
  }

  /** Forgets the user's token, if any (it no longer works: the password or the account changed). */
  async discard(userId: string): Promise<void> {
    await this.redis.client.del(resetKey(userId));
  }
}
