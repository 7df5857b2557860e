/**
 * StaffGate on a real Postgres and Redis, beside the scenarios that force its orders through the API
 * (staff.scenarios.ts): what bounds it (helper-101 flooded one staff token's actions, each opening a
 * connection, until a disable failed with a 500 for want of one).
 */
import {
  AppError,
  GATE_CONNECTIONS,
  GATE_CONNECTIONS_PER_ACTOR,
  sessionKey,
  StaffGate,
  type Caller,
} from '@protobank/platform';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

describe('StaffGate on Postgres', () => {
  let t: TestEnv;
  let db: Client;
  let redis: Redis;
  const warned: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => void warned.push(fields) };
  const gateOn = (url: string) =>
    new StaffGate({ databaseListenUrl: url } as never, { client: redis } as never, logger as never);

  beforeAll(async () => {
    t = await createTestEnv('staffgate');
    const admin = new Client({ connectionString: t.databaseUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "pbtest_${t.id}"`);
    await admin.end();
    db = await t.db();
    redis = new Redis(t.env.REDIS_URL, { keyPrefix: t.env.REDIS_KEY_PREFIX });
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.cleanup();
  });

  /** A staff caller whose session exists in Redis, as auth writes it. */
  const staffWithSession = async (): Promise<Caller> => {
    const caller = { user_id: randomUUID(), role: 'staff', session_id: randomUUID() };
    await redis.hset(sessionKey(caller.session_id), { user_id: caller.user_id, role: 'staff' });
    return caller;
  };
  const gateConnections = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'protobank staff gate'`,
      )
    ).rows[0].n;

  it(`holds at most ${GATE_CONNECTIONS} connections for actions at once, however many are sent; the others wait their turn`, async () => {
    const gate = gateOn(t.databaseUrl);
    const callers = await Promise.all(Array.from({ length: 10 }, () => staffWithSession()));
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let started = 0;
    const actions = Array.from({ length: 30 }, (_, i) =>
      gate.act(callers[i % 10], async () => {
        started++;
        await held;
        return i;
      }),
    );
    await eventually(
      async () => (started === GATE_CONNECTIONS ? true : undefined),
      10000,
      `${GATE_CONNECTIONS} actions to start`,
    );
    // Given time to open more, none does.
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toBe(GATE_CONNECTIONS);
    expect(await gateConnections()).toBe(GATE_CONNECTIONS);
    letGo();
    expect(await Promise.all(actions)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await eventually(async () => ((await gateConnections()) === 0 ? true : undefined), 5000, 'gates closed');
  });

  it(`runs at most ${GATE_CONNECTIONS_PER_ACTOR} of one actor's actions at once, leaving the other turns to colleagues`, async () => {
    const gate = gateOn(t.databaseUrl);
    const [flooder, colleague] = [await staffWithSession(), await staffWithSession()];
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let started = 0;
    const flood = Array.from({ length: 20 }, () =>
      gate.act(flooder, async () => {
        started++;
        await held;
      }),
    );
    await eventually(
      async () => (started === GATE_CONNECTIONS_PER_ACTOR ? true : undefined),
      10000,
      `${GATE_CONNECTIONS_PER_ACTOR} of the flood to start`,
    );
    // The colleague's action runs at once, beside the flood.
    expect(await gate.act(colleague, async () => 'done')).toBe('done');
    expect(started).toBe(GATE_CONNECTIONS_PER_ACTOR);
    letGo();
    await Promise.all(flood);
    expect(started).toBe(20);
  });

  it('refuses an action whose session has ended (401 session_ended), running nothing', async () => {
    const gate = gateOn(t.databaseUrl);
    const caller = await staffWithSession();
    await redis.del(sessionKey(caller.session_id!));
    let ran = false;
    await expect(gate.act(caller, async () => (ran = true))).rejects.toMatchObject({
      status: 401,
      code: 'session_ended',
    });
    expect(ran).toBe(false);
  });

  it('lets a change go ahead when Postgres gives its gate no connection (logged); an action then answers 503', async () => {
    // Nothing listens there: as a Postgres refusing connections (max_connections reached) would.
    const gate = gateOn(`postgres://postgres@127.0.0.1:${await processes.freePort()}/none`);
    const userId = randomUUID();
    expect(await gate.changeUser(userId, async () => 'changed')).toBe('changed');
    expect(warned).toContainEqual(
      expect.objectContaining({ security_event: 'staff_gate_timeout', user_id: userId }),
    );
    const refusal = await gate
      .act(await staffWithSession(), async () => 'acted')
      .catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ status: 503, code: 'staff_gate_busy' });
  });

  it('fails a change whose own work fails, without running it twice', async () => {
    const gate = gateOn(t.databaseUrl);
    let runs = 0;
    await expect(
      gate.changeUser(randomUUID(), async () => {
        runs++;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(runs).toBe(1);
  });
});
