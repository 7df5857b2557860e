import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { MetricsService } from '../metrics/metrics.service';
import { RedisScript } from '../redis/redis-script';
import { RedisService } from '../redis/redis.module';
import { sessionAdmits, sessionKey } from './session-registry';

/** What a staff action holds while it runs: the owners it acts on are added once it knows them. */
export interface StaffPass {
  /**
   * Enters the gate of each owner the action acts on, so that no role change of theirs lands before the
   * action ends (it waits for one under way, then checks the actor's session again). Call it before
   * reading their roles.
   */
  owners(userIds: Iterable<string | null | undefined>): Promise<void>;
}

/** How long a staff action waits for a change of its actor or owner in progress before answering 503. */
export const ACTION_WAITS_MS = 10_000;

/** How long a change waits for the staff actions under way before it goes ahead (see StaffGate). */
export const CHANGE_WAITS_MS = 5_000;

/** How often a waiting action or change looks again. */
const RETRY_MS = 25;

/**
 * How long an action's entry counts if it is never taken back (its process died): a change then waits
 * for it no longer than CHANGE_WAITS_MS anyway.
 */
const ENTRY_TTL_MS = 60_000;

/** At most this many entries whose leave failed are kept to retry (a long outage under a flood). */
const MAX_LEFT_BEHIND = 10_000;

/**
 * The Redis key that says a change of `userId` is under way (added to before it looks for actions): a set
 * of the changes' tokens, so that one change ending leaves the mark of another still running (helper-103:
 * a plain key deleted by a no-op change let actions in during a disable of the same user).
 */
export const changingKey = (userId: string) => `staff-gate:changing:${userId}`;

/** The actions of and on `userId` under way: a sorted set of entries, scored by when they lapse. */
export const activeKey = (userId: string) => `staff-gate:active:${userId}`;

/**
 * KEYS: the changing keys of the users, then their active sets in the same order, then the actor's
 * session. ARGV: the entry, the time it lapses (ms). Enters every user's gate, or none when a change of
 * any is under way; answers {entered (1 or 0), the session's user_id, its role}, read in the same atomic
 * step as the marks (a change that ended the session before it has left no mark to find).
 */
const ENTER = new RedisScript(`
local n = (#KEYS - 1) / 2
local session = redis.call('HMGET', KEYS[#KEYS], 'user_id', 'role')
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, session[1], session[2]} end
end
for i = n + 1, 2 * n do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ${ENTRY_TTL_MS * 2})
end
return {1, session[1], session[2]}
`);

/**
 * Makes a staff action and a change of its actor's (or its owner's) role or access happen one after the
 * other, never interleaved. A staff request is authorised when it arrives, by its token and session; one
 * that then waits (on a row another transaction holds) could otherwise complete after its actor was
 * disabled or demoted, or its target customer made staff, and the admin who did it was already answered.
 *
 * - A change (`changeUser`, in users) marks its user as changing in Redis (its token in the user's set),
 *   then waits until no action of or on that user is under way, and keeps its token there until the
 *   user's sessions have ended.
 * - A staff action (`act`) enters its actor's gate, then its owners' (`StaffPass.owners`): one Lua script
 *   that refuses while any of them is marked and otherwise records the action as under way for each.
 *   Refused, it holds nothing and waits (at most 10 s, then 503 staff_gate_busy, nothing done). Entered,
 *   it has read the actor's session in the same script (401 session_ended once a change ended it), and
 *   the owners' roles afresh (403 colleague_account for one made staff). It leaves every gate once it has
 *   answered.
 *
 * Redis runs the script and the change's mark one after the other: an action entered before the mark
 * (the change waits for it: it lands, and answers, first) or finds the mark (it waits for the change,
 * then finds its outcome). A change never waits more than CHANGE_WAITS_MS: an insider must not hold off
 * their own disable with slow requests. Past that it goes ahead (its mark still holding back new actions)
 * and logs `staff_gate_timeout`: only an action already running then can land after the change. An
 * action that waits holds nothing (it left every gate it had entered), so two changes and the actions
 * between them cannot wait for each other.
 *
 * Redis, not Postgres: the first versions held Postgres session advisory locks, a connection per action
 * (a Postgres backend per deposit, and a staff member's flood used up max_connections until a disable
 * failed with a 500: helper-101), then two shared connections (their round trips halved the deposit
 * rate). Here an action costs one script call (which reads the session too) and one ZREM it does not wait
 * for. An entry whose process died lapses after a minute; a change would not wait for it past 5 s.
 */
@Injectable()
export class StaffGate {
  private readonly waits: Counter<'reason'>;
  /** Entries whose ZREM failed (Redis unavailable), by entry, to take back on reconnection. */
  private readonly leftBehind = new Map<string, { users: string[]; at: number }>();

  constructor(
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.waits = metrics.counter(
      'staff_gate_waits_total',
      'Staff actions that waited for a change of their actor or owner (reason change), or gave up (reason busy)',
      ['reason'],
    );
    redis.client.on('ready', () => this.retryLeaves());
  }

  async act<T>(caller: Caller, work: (pass: StaffPass) => Promise<T>): Promise<T> {
    const entry = randomUUID();
    let users = [caller.user_id];
    try {
      await this.enter(caller, entry, users, []);
      return await work({
        owners: async (userIds) => {
          const fresh = [...new Set(userIds)].filter((u): u is string => !!u && !users.includes(u));
          if (fresh.length === 0) return;
          const held = users;
          users = [...users, ...fresh];
          await this.enter(caller, entry, users, held);
        },
      });
    } finally {
      // Not waited for: the answer need not wait for Redis to forget the entry. It goes on the client's one
      // connection, in order, so a change looking after this sees it gone at most a round trip later.
      void this.leave(entry, users);
    }
  }

  /**
   * Enters every gate of `users` (the actor first) once none is marked, leaving those it `held` already
   * while it waits (a refused script added nothing), then checks the actor's session.
   */
  private async enter(caller: Caller, entry: string, users: string[], held: string[]): Promise<void> {
    const deadline = Date.now() + ACTION_WAITS_MS;
    // No session id (never from a route: tokens carry one) reads a key that does not exist: refused.
    const keys = [...users.map(changingKey), ...users.map(activeKey), sessionKey(caller.session_id ?? '')];
    let waited = false;
    for (;;) {
      const [entered, userId, role] = (await ENTER.run(this.redis.client, keys, [
        entry,
        Date.now() + ENTRY_TTL_MS,
      ])) as [number, string | null, string | null];
      if (entered === 1) {
        if (!caller.session_id || !sessionAdmits({ userId, role }, caller)) {
          throw new AppError(
            401,
            'session_ended',
            'The session of this access token has ended; log in again',
          );
        }
        return;
      }
      if (held.length > 0) {
        await this.leave(entry, held);
        held = [];
      }
      if (!waited) this.waits.inc({ reason: 'change' });
      waited = true;
      if (Date.now() > deadline) {
        this.waits.inc({ reason: 'busy' });
        throw new AppError(
          503,
          'staff_gate_busy',
          'A change of this user is under way; nothing was done, try again',
        ).withHeaders({ 'Retry-After': '1' });
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  private async leave(entry: string, users: string[]): Promise<void> {
    // Plain commands, not pipeline(): they join the client's auto-pipeline, one socket write with whatever
    // else this tick sends. An explicit pipeline writes on its own (a CPU profile of 32 concurrent deposits:
    // 455 ms under leave with it, 101 ms without; the deposit rate did not move measurably, README).
    try {
      await Promise.all(users.map((user) => this.redis.client.zrem(activeKey(user), entry)));
    } catch {
      // Redis failed: taken back once it is there again (helper-104: entries left by an outage held the
      // next changes of their users for the whole 5 s, with a false staff_gate_timeout). Past ENTRY_TTL_MS
      // the entry has lapsed anyway.
      if (this.leftBehind.size < MAX_LEFT_BEHIND) this.leftBehind.set(entry, { users, at: Date.now() });
    }
  }

  /** Takes back the entries whose leave failed, when the client is connected again. */
  private retryLeaves(): void {
    const now = Date.now();
    const left = [...this.leftBehind];
    this.leftBehind.clear();
    for (const [entry, { users, at }] of left) if (now - at < ENTRY_TTL_MS) void this.leave(entry, users);
  }

  /**
   * Runs `work` (a change of `userId`'s role or access, until their sessions are ended) once the actions
   * of and on them under way have ended, or CHANGE_WAITS_MS have passed. A Redis error is tried again
   * within that time (helper-104: a one-second outage made the first failed command skip the wait, and a
   * card block and a reversal held on rows landed after a disable and a promotion had answered); only a
   * Redis still failing at the end lets the change go ahead ungated.
   */
  async changeUser<T>(userId: string, work: () => Promise<T>): Promise<T> {
    let outcome: 'waited for' | 'went ahead after 5 s' | 'not gated (Redis)' = 'waited for';
    const token = randomUUID();
    const deadline = Date.now() + CHANGE_WAITS_MS;
    let marked = false;
    let failure: unknown = null;
    for (;;) {
      try {
        if (!marked) {
          // The mark outlives a change that dies (its TTL), never a change that ends. Set again after an
          // error, in case it was set and its answer lost: the same token, so once.
          const answers = await this.redis.client
            .multi()
            .sadd(changingKey(userId), token)
            .pexpire(changingKey(userId), ENTRY_TTL_MS)
            .exec();
          const failed = answers?.find(([err]) => err)?.[0];
          if (!answers || failed) throw failed ?? new Error('the mark was not set');
          marked = true;
        }
        failure = null;
        if ((await this.redis.client.zcount(activeKey(userId), Date.now(), '+inf')) === 0) break;
      } catch (err) {
        failure = err;
      }
      if (Date.now() > deadline) {
        // The change must not fail for its gate; its sessions' end needs Redis too, and says so if it fails.
        outcome = marked && !failure ? 'went ahead after 5 s' : 'not gated (Redis)';
        break;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    try {
      if (outcome !== 'waited for') {
        if (failure) this.logger.warn({ err: failure, user_id: userId }, 'staff gate unavailable');
        this.logger.warn(
          { security_event: 'staff_gate_timeout', user_id: userId, outcome },
          'a change of a user went ahead while staff actions of or on them may still be running',
        );
      }
      return await work();
    } finally {
      // Its own token only: another change of the user still running keeps the mark.
      await this.redis.client.srem(changingKey(userId), token).catch(() => undefined);
    }
  }
}
