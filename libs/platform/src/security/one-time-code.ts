import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/app-error';
import { RedisScript } from '../redis/redis-script';

/**
 * Six-digit codes that prove a user reads what is sent to a phone number or an e-mail address (the
 * `target`): made here, sent by the caller, typed back into the app by the signed-in user. Redis keeps a
 * salted hash bound to the user and the target, never the code, with a count of tries.
 */
export interface StoredCode {
  target: string;
  salt: string;
  hash: string;
}

export type CodeCheck =
  | { kind: 'right'; target: string }
  /** Wrong: `triesLeft` more before the code is void. */
  | { kind: 'wrong'; triesLeft: number }
  /** No code waits: never sent, expired, used, or voided by too many tries. */
  | { kind: 'none' };

const digest = (salt: string, userId: string, target: string, code: string) =>
  createHash('sha256').update(`${salt}\0${userId}\0${target}\0${code}`).digest('hex');

/** Six random digits (leading zeros kept) and how to keep them. */
export function newCode(userId: string, target: string): { code: string; stored: StoredCode } {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const salt = randomBytes(16).toString('hex');
  return { code, stored: { target, salt, hash: digest(salt, userId, target, code) } };
}

/** Whether `code` is the one kept for this user and target, compared in constant time. */
export function codeMatches(stored: StoredCode, userId: string, target: string, code: string): boolean {
  if (stored.target !== target) return false;
  const given = Buffer.from(digest(stored.salt, userId, target, code), 'hex');
  const kept = Buffer.from(stored.hash, 'hex');
  return given.length === kept.length && timingSafeEqual(given, kept);
}

/** Keeps a new code at `key` for `seconds`, replacing any earlier one (which stops working). */
export async function keepCode(
  redis: Redis,
  key: string,
  stored: StoredCode,
  seconds: number,
): Promise<void> {
  await redis
    .multi()
    .del(key)
    .hset(key, { ...stored, tries: 0 })
    .expire(key, seconds)
    .exec();
}

/**
 * Counts one try of the code kept at KEYS[1] and returns it (target, salt, hash) and the tries made, or
 * nothing when there is none (or more than ARGV[1] tries were made: then it is deleted). Counting and
 * reading in one step: parallel guesses cannot all be checked before any is counted.
 */
const TRY_CODE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
local kept = redis.call('HMGET', KEYS[1], 'target', 'salt', 'hash')
if tries > tonumber(ARGV[1]) or not kept[1] then redis.call('DEL', KEYS[1]) return nil end
return { kept[1], kept[2], kept[3], tries }
`);

/**
 * One try of `code` against the code kept at `key`, of `attempts` allowed. A right code is left in place
 * for the caller to delete once what it proves is recorded (a failure before then leaves it for another
 * try); the last wrong try leaves it to be voided by the next (the script), not deleted here, which could
 * delete a new code sent meanwhile.
 */
export async function checkCode(
  redis: Redis,
  key: string,
  userId: string,
  code: string,
  attempts: number,
): Promise<CodeCheck> {
  const kept = (await TRY_CODE.run(redis, [key], [attempts])) as [string, string, string, number] | null;
  if (!kept) return { kind: 'none' };
  const [target, salt, hash, tries] = kept;
  return codeMatches({ target, salt, hash }, userId, target, code)
    ? { kind: 'right', target }
    : { kind: 'wrong', triesLeft: attempts - tries };
}

/** The answer to a code that did not prove anything: 422 naming `code`. */
export function codeRefused(check: Exclude<CodeCheck, { kind: 'right' }>): AppError {
  if (check.kind === 'none') {
    return AppError.unprocessable('code_expired', 'No code is waiting: ask for a new one', [
      { field: 'code', message: 'expired, used, or tried too many times: ask for a new code' },
    ]);
  }
  const left = check.triesLeft;
  return AppError.unprocessable('code_invalid', 'Wrong code', [
    {
      field: 'code',
      message:
        left > 0
          ? `wrong code: ${left} ${left === 1 ? 'try' : 'tries'} left`
          : 'wrong code: ask for a new one',
    },
  ]);
}

/**
 * What a code proves: the target it was sent to, once the user typed it right (checkCode; the code is
 * left for the caller to delete once that is recorded). A wrong code is logged as the security event
 * `wrongEvent` with the tries left, and refused as a missing one is (codeRefused).
 */
export async function provenTarget(
  redis: Redis,
  key: string,
  userId: string,
  code: string,
  attempts: number,
  log: { logger: Logger; wrongEvent: string },
): Promise<string> {
  const check = await checkCode(redis, key, userId, code, attempts);
  if (check.kind === 'right') return check.target;
  if (check.kind === 'wrong') {
    log.logger.warn(
      { user_id: userId, security_event: log.wrongEvent, tries_left: check.triesLeft },
      'wrong one-time code',
    );
  }
  throw codeRefused(check);
}
