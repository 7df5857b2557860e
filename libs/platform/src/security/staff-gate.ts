import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { AppConfig } from '../config/app-config';
import type { Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { MetricsService } from '../metrics/metrics.service';
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
export const ACTION_WAITS_MS = 10_000;

/** How often a waiting action looks again. */
const RETRY_MS = 25;

/** How long a change waits for the staff actions under way before it goes ahead (see StaffGate). */
export const CHANGE_WAITS_MS = 5_000;

/** How long opening a gate connection may take. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The direct connections of one process that hold its actions' gates (each action's locks on one). */
export const GATE_SESSIONS = 2;

/**
 * The advisory lock key of a user's gate: 64 bits of SHA-256 over the id, in a namespace of its own (a
 * collision with another lock only makes one wait for the other).
 */
export function staffGateKey(userId: string): string {
  return createHash('sha256').update(`protobank staff gate:${userId}`).digest().readBigInt64BE(0).toString();
}

/** The Redis key that says a change of `userId` is under way (set before it asks for the gate). */
export const changingKey = (userId: string) => `staff-gate:changing:${userId}`;

/** One of the process's gate connections; replaced (its locks gone with it) once it fails. */
interface GateSession {
  client: Client;
  ready: Promise<void>;
  broken: boolean;
}

/**
 * Makes a staff action and a change of its actor's (or its owner's) role or access happen one after the
 * other, never interleaved. A staff request is authorised when it arrives, by its token and session; one
 * that then waits (on a row another transaction holds) could otherwise complete after its actor was
 * disabled or demoted, or its target customer made staff, and the admin who did it was already answered.
 *
 * - A change (`changeUser`, in users) marks its user as changing in Redis, then asks for the user's gate
 *   (a Postgres advisory lock) exclusively, on a connection of its own, and keeps both until the user's
 *   sessions have ended.
 * - A staff action (`act`) takes its actor's gate shared, then reads the mark and the actor's session in
 *   one Redis round trip: a change under way makes it let go and wait (at most 10 s, then 503
 *   staff_gate_busy, nothing done); a session ended is 401 session_ended. It then takes each owner's gate
 *   the same way (`StaffPass.owners`), before reading their roles afresh (403 colleague_account for one
 *   made staff), and holds every gate until it has answered.
 *
 * An action took its gate before it read no mark, and a change set its mark before it asked for the gate:
 * so the change waits for every action that saw no mark (they land, and answer, first), and every other
 * action waits for the change and then finds its outcome. A change never waits more than CHANGE_WAITS_MS:
 * an insider must not hold off their own disable with slow requests. Past that it goes ahead (its mark
 * still holding back new actions) and logs `staff_gate_timeout`: only an action already running then can
 * land after the change. A change that gets no connection for its gate goes ahead without it, logged the
 * same way.
 *
 * Actions take their gates with pg_try_advisory_lock_shared on one of the process's GATE_SESSIONS direct
 * connections (DATABASE_LISTEN_URL: PgBouncer in transaction mode loses session locks), each statement
 * answered at once, never waiting: a connection per action (the first version) cost a Postgres backend per
 * deposit and let one staff member's flood exhaust max_connections (helper-101). A session's locks stack:
 * two actions on one user hold it twice, and each lets go of its own. Every module shares the database,
 * and none reads another's tables; a process that dies, or a gate connection that fails, lets go of what
 * it held (logged).
 */
@Injectable()
export class StaffGate implements OnApplicationShutdown {
  private readonly sessions: (GateSession | undefined)[] = [];
  private next = 0;
  private readonly waits: Counter<'reason'>;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.waits = metrics.counter(
      'staff_gate_waits_total',
      'Staff actions that waited for a change of their actor or owner (reason change), or gave up (reason busy)',
      ['reason'],
    );
  }

  async act<T>(caller: Caller, work: (pass: StaffPass) => Promise<T>): Promise<T> {
    const session = await this.session();
    const held: string[] = [];
    try {
      await this.enter(session, caller.user_id, held, async () => {
        if (!(await this.sessionHolds(caller))) {
          throw new AppError(
            401,
            'session_ended',
            'The session of this access token has ended; log in again',
          );
        }
      });
      return await work({
        owners: async (userIds) => {
          const fresh = [...new Set(userIds)].filter((u): u is string => !!u && !held.includes(u)).sort();
          for (const id of fresh) await this.enter(session, id, held);
        },
      });
    } finally {
      if (held.length > 0 && !session.broken) {
        await session.client
          .query('SELECT pg_advisory_unlock_shared(k) FROM unnest($1::bigint[]) AS k', [
            held.map(staffGateKey),
          ])
          .catch(() => undefined); // a failed connection has let go of them already
      }
    }
  }

  /**
   * Takes `userId`'s gate shared on `session` once no change of theirs is under way (checking `also` in
   * the same Redis round trip), and records it in `held`.
   */
  private async enter(
    session: GateSession,
    userId: string,
    held: string[],
    also?: () => Promise<void>,
  ): Promise<void> {
    const key = staffGateKey(userId);
    const deadline = Date.now() + ACTION_WAITS_MS;
    let waited = false;
    for (;;) {
      const { rows } = await session.client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock_shared($1::bigint) AS locked',
        [key],
      );
      if (rows[0].locked) {
        held.push(userId);
        const [changing] = await Promise.all([this.redis.client.exists(changingKey(userId)), also?.()]);
        if (!changing) return;
        held.pop();
        await session.client.query('SELECT pg_advisory_unlock_shared($1::bigint)', [key]);
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

  /**
   * Runs `work` (a change of `userId`'s role or access, until their sessions are ended) once the actions
   * of and on them under way have ended, or CHANGE_WAITS_MS have passed.
   */
  async changeUser<T>(userId: string, work: () => Promise<T>): Promise<T> {
    // The mark outlives a change that dies (it has a TTL), never a change that ends.
    await this.redis.client.set(changingKey(userId), '1', 'PX', 60_000);
    try {
      return await this.changing(userId, work);
    } finally {
      await this.redis.client.del(changingKey(userId)).catch(() => undefined);
    }
  }

  private async changing<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const client = this.newClient();
    let gate: 'held' | 'waited past its time' | 'unavailable' = 'unavailable';
    let pid: number | undefined;
    try {
      await client.connect();
      // A long lock_timeout, not none: a request still queued whose cancel is lost withdraws itself.
      await client.query(`SET lock_timeout = '60s'`);
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const queued = client.query('SELECT pg_advisory_lock($1::bigint)', [staffGateKey(userId)]).then(
        () => true,
        () => false,
      );
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<false>(
        (resolve) => (timer = setTimeout(() => resolve(false), CHANGE_WAITS_MS)),
      );
      gate = (await Promise.race([queued, waited])) ? 'held' : 'waited past its time';
      clearTimeout(timer);
    } catch (err) {
      // No connection for the gate (Postgres refused one, or was too slow): the change must not fail for it.
      this.logger.warn({ err, user_id: userId }, 'no connection for a staff gate');
    }
    try {
      if (gate !== 'held') {
        this.logger.warn(
          { security_event: 'staff_gate_timeout', user_id: userId, gate },
          'a change of a user went ahead while staff actions of or on them may still be running',
        );
      }
      return await work();
    } finally {
      // A backend waiting on a lock does not notice its client leave: its request would hold back every
      // action on the user until granted. Cancel it first, from a gate connection already open.
      if (gate === 'waited past its time' && pid !== undefined) {
        await this.session()
          .then((session) => session.client.query('SELECT pg_cancel_backend($1)', [pid]))
          .catch(() => undefined);
      }
      await client.end().catch(() => undefined);
    }
  }

  /** One of the process's gate connections, opened (again) if need be. */
  private async session(): Promise<GateSession> {
    const slot = this.next++ % GATE_SESSIONS;
    let session = this.sessions[slot];
    if (!session || session.broken) {
      const client = this.newClient();
      const opened: GateSession = { client, broken: false, ready: Promise.resolve() };
      const fail = (err?: unknown) => {
        if (opened.broken) return;
        opened.broken = true;
        this.logger.warn({ err }, 'a staff gate connection failed: the actions on it lost their gates');
      };
      client.on('error', fail);
      client.on('end', () => fail());
      opened.ready = client.connect().then(
        () => undefined,
        (err: unknown) => {
          fail(err);
          throw err;
        },
      );
      this.sessions[slot] = session = opened;
    }
    try {
      await session.ready;
    } catch {
      throw new AppError(
        503,
        'staff_gate_busy',
        'Staff actions are unavailable for a moment; nothing was done, try again',
      ).withHeaders({
        'Retry-After': '1',
      });
    }
    return session;
  }

  private newClient(): Client {
    const client = new Client({
      connectionString: this.config.databaseListenUrl,
      application_name: 'protobank staff gate',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // A connection lost while in use lets go of its gates; it must not also crash the process.
    client.on('error', () => undefined);
    return client;
  }

  private async sessionHolds(caller: Caller): Promise<boolean> {
    if (!caller.session_id) return false;
    const [userId, role] = await this.redis.client.hmget(sessionKey(caller.session_id), 'user_id', 'role');
    return sessionAdmits({ userId, role }, { user_id: caller.user_id, role: caller.role });
  }

  async onApplicationShutdown(): Promise<void> {
    const open = this.sessions.filter((s): s is GateSession => !!s && !s.broken);
    for (const session of open) session.broken = true; // closing, not failing: nothing to log
    await Promise.all(open.map((s) => s.client.end().catch(() => undefined)));
  }
}
