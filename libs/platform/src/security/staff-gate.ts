import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import type { Caller } from '../context/request-context';
import { slots } from '../concurrency/slots';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { RedisService } from '../redis/redis.module';
import { sessionAdmits, sessionKey } from './session-registry';

/** What a staff action holds while it runs: the owners it acts on are added once it knows them. */
export interface StaffPass {
  /**
   * Holds the gate of each owner the action acts on (not the actor's own: held already), so that no role
   * change of theirs lands before the action ends. Call it before reading their roles.
   */
  owners(userIds: Iterable<string | null | undefined>): Promise<void>;
}

/** How long a staff action waits for a change of its actor or owner in progress before answering 503. */
const ACTION_PATIENCE = '10s';

/**
 * How long an action waits for each of its turns (its actor's, then the process's). With the wait for a
 * change, at most 20 s in all: under the edge's 30 s read timeout, so the client hears the 503.
 */
const TURN_WAIT_MS = 5_000;

/**
 * Staff actions holding a gate connection at once in one process; the others wait (see TURN_WAIT_MS, then
 * 503). Without a bound, one staff token with a few hundred requests in flight would open as many
 * Postgres connections and could exhaust max_connections for everyone (helper-101).
 */
export const GATE_CONNECTIONS = 6;

/**
 * Of those, one actor's at once: one staff member's flood leaves the other slots to their colleagues (an
 * admin may still reverse three entries at once). Six per process keeps the seven apps that take staff
 * actions in split at 42 direct connections at most, beside PgBouncer's 25 and the relays' LISTEN,
 * within Postgres's default 100 (helper-102).
 */
export const GATE_CONNECTIONS_PER_ACTOR = 4;

/** How long opening a gate's connection may take. */
const CONNECT_TIMEOUT_MS = 5_000;

/** How long a change waits for the staff actions under way before it goes ahead (see StaffGate). */
export const CHANGE_WAITS_MS = 5_000;

/**
 * The advisory lock key of a user's gate: 64 bits of SHA-256 over the id, in a namespace of its own (a
 * collision with another lock only makes one wait for the other).
 */
export function staffGateKey(userId: string): string {
  return createHash('sha256').update(`protobank staff gate:${userId}`).digest().readBigInt64BE(0).toString();
}

/**
 * Makes a staff action and a change of its actor's (or its owner's) role or access happen one after the
 * other, never interleaved. A staff request is authorised when it arrives, by its token and session; one
 * that then waits (on a row another transaction holds) could otherwise complete after its actor was
 * disabled or demoted, or its target customer made staff, and the admin who did it was already answered.
 *
 * - A staff action (`act`) holds its actor's gate, then its owners' (`StaffPass.owners`), shared, for as
 *   long as it runs. Holding them, it asks again whether the actor's session still exists with the
 *   token's role, and reads the owners' roles afresh.
 * - A role change or a disable (`changeUser`, in users) asks for its user's gate exclusively before its
 *   transaction, and keeps it (or its place in the queue) until the user's sessions have ended.
 *
 * So a change waits for the actions of and on that user that started before it (they complete, and are
 * answered, first), and an action that starts during a change waits for it, then finds the session ended
 * (401 session_ended) or the owner a colleague (403 colleague_account). A change never waits more than
 * CHANGE_WAITS_MS: an insider must not hold off their own disable with slow requests. Past that it goes
 * ahead with its request still queued (so every action that arrives later still waits for it), and
 * logs `staff_gate_timeout`: only an action already running 5 s earlier can then land after the change.
 *
 * The gates are Postgres session advisory locks: every module shares the database, none reads another's
 * tables, and a process that dies releases what it held. Each holder has a direct connection of its own
 * (DATABASE_LISTEN_URL: PgBouncer in transaction mode loses session locks) for the action's length;
 * staff actions are few, and at most GATE_CONNECTIONS of them hold one at once per process, at most
 * GATE_CONNECTIONS_PER_ACTOR of one actor's (the others wait their turn). Shared holders never wait for
 * one another, and a change asks for one gate: no cycle between gates. An action waits at most 20 s for
 * its turns and a change (503 staff_gate_busy, nothing done); a change that gets no connection for its
 * gate goes ahead without it (logged staff_gate_timeout).
 */
@Injectable()
export class StaffGate {
  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private readonly actionSlot = slots(GATE_CONNECTIONS, TURN_WAIT_MS, () => busy());
  /** Each actor's turns, while they have an action waiting or running. */
  private readonly actorSlots = new Map<string, { turn: ReturnType<typeof slots>; actions: number }>();

  async act<T>(caller: Caller, work: (pass: StaffPass) => Promise<T>): Promise<T> {
    let mine = this.actorSlots.get(caller.user_id);
    if (!mine) {
      mine = { turn: slots(GATE_CONNECTIONS_PER_ACTOR, TURN_WAIT_MS, () => busy()), actions: 0 };
      this.actorSlots.set(caller.user_id, mine);
    }
    mine.actions++;
    try {
      return await mine.turn(() => this.actionSlot(() => this.acting(caller, work)));
    } finally {
      if (--mine.actions === 0) this.actorSlots.delete(caller.user_id);
    }
  }

  private async acting<T>(caller: Caller, work: (pass: StaffPass) => Promise<T>): Promise<T> {
    return this.holding(async (client) => {
      await lock(client, 'pg_advisory_lock_shared', caller.user_id);
      if (!(await this.sessionHolds(caller))) {
        throw new AppError(401, 'session_ended', 'The session of this access token has ended; log in again');
      }
      const held = new Set([caller.user_id]);
      return work({
        owners: async (userIds) => {
          // In id order, though shared locks never wait for each other: only for a change in progress.
          for (const id of [...new Set(userIds)].filter((u): u is string => !!u && !held.has(u)).sort()) {
            await lock(client, 'pg_advisory_lock_shared', id);
            held.add(id);
          }
        },
      });
    }, `SET lock_timeout = '${ACTION_PATIENCE}'`);
  }

  /**
   * Runs `work` (a change of `userId`'s role or access, until their sessions are ended) once the actions
   * of and on them under way have ended, or CHANGE_WAITS_MS have passed.
   */
  async changeUser<T>(userId: string, work: () => Promise<T>): Promise<T> {
    let ran = false;
    const run = () => {
      ran = true;
      return work();
    };
    try {
      // A long lock_timeout, not none: a request whose cancel did not arrive still withdraws itself.
      return await this.holding((client) => this.changing(client, userId, run), `SET lock_timeout = '60s'`);
    } catch (err) {
      if (ran) throw err;
      // No gate (Postgres refused a connection, or was too slow): the change must not fail for it. It goes
      // ahead as if it had waited its 5 s, and says so; actions of or on the user that checked before it
      // may then land after it, as after a timeout (StaffActionOutlivedChange).
      this.logger.warn(
        { security_event: 'staff_gate_timeout', user_id: userId, err },
        'a change of a user went ahead without its gate: no connection for it',
      );
      return work();
    }
  }

  private async changing<T>(client: Client, userId: string, work: () => Promise<T>): Promise<T> {
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    // The request stays queued (holding back later actions) until it is granted or withdrawn.
    const queued = lock(client, 'pg_advisory_lock', userId).then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), CHANGE_WAITS_MS)),
    );
    const granted = await Promise.race([queued, waited]);
    clearTimeout(timer);
    if (granted) return work();
    this.logger.warn(
      { security_event: 'staff_gate_timeout', user_id: userId },
      'a change of a user went ahead while staff actions of or on them were still running',
    );
    try {
      return await work();
    } finally {
      // A backend waiting on a lock does not notice its client leave: withdraw the request first (and
      // end the connection after a second if the cancel did not arrive).
      await this.cancel(pid).catch(() => undefined);
      await Promise.race([queued, new Promise((r) => setTimeout(r, 1_000).unref())]);
    }
  }

  private async sessionHolds(caller: Caller): Promise<boolean> {
    if (!caller.session_id) return false;
    const [userId, role] = await this.redis.client.hmget(sessionKey(caller.session_id), 'user_id', 'role');
    return sessionAdmits({ userId, role }, { user_id: caller.user_id, role: caller.role });
  }

  private async cancel(pid: number): Promise<void> {
    const canceller = new Client({
      connectionString: this.config.databaseListenUrl,
      application_name: 'protobank staff gate',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    canceller.on('error', () => undefined);
    await canceller.connect();
    try {
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  private async holding<T>(work: (client: Client) => Promise<T>, setup: string): Promise<T> {
    const client = new Client({
      connectionString: this.config.databaseListenUrl,
      application_name: 'protobank staff gate',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // A connection lost while `work` runs releases the gate; it must not also crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch {
      throw busy();
    }
    try {
      await client.query(setup);
      return await work(client);
    } finally {
      // Ending the session releases every gate it holds, and withdraws a request still queued.
      await client.end().catch(() => undefined);
    }
  }
}

/** Waits for the gate (past an action's patience, 503 staff_gate_busy). */
async function lock(client: Client, fn: 'pg_advisory_lock' | 'pg_advisory_lock_shared', userId: string) {
  try {
    const sql =
      fn === 'pg_advisory_lock'
        ? 'SELECT pg_advisory_lock($1::bigint)'
        : 'SELECT pg_advisory_lock_shared($1::bigint)';
    await client.query(sql, [staffGateKey(userId)]);
  } catch (err) {
    if ((err as { code?: string }).code !== '55P03') throw err;
    throw busy();
  }
}

/** 503 staff_gate_busy: a staff action that waited too long for its gate, with nothing done. */
function busy(): AppError {
  return new AppError(
    503,
    'staff_gate_busy',
    'A change of this user, or other staff actions, are under way; nothing was done, try again',
  ).withHeaders({ 'Retry-After': '1' });
}
