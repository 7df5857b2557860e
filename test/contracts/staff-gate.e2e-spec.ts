/**
 * StaffGate on a real Postgres and Redis, beside the scenarios that force its orders through the API
 * (staff.scenarios.ts): two gates stand for two apps (or instances) of one deployment, sharing the
 * database and Redis. What bounds it: helper-101 flooded one staff token's actions, each opening a
 * connection in the first version, until a disable failed with a 500 for want of one.
 */
import { AppError, GATE_SESSIONS, sessionKey, StaffGate, type Caller } from '@protobank/platform';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

describe('StaffGate on Postgres and Redis', () => {
  let t: TestEnv;
  let db: Client;
  let redis: Redis;
  const warned: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => void warned.push(fields) };
  const waits: Record<string, number> = {};
  const metrics = {
    counter: () => ({
      inc: ({ reason }: { reason: string }) => void (waits[reason] = (waits[reason] ?? 0) + 1),
    }),
  };
  const gates: StaffGate[] = [];
  const gateOn = (url: string) => {
    const gate = new StaffGate(
      { databaseListenUrl: url } as never,
      { client: redis } as never,
      logger as never,
      metrics as never,
    );
    gates.push(gate);
    return gate;
  };

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
    await Promise.all(gates.map((g) => g.onApplicationShutdown()));
    redis?.disconnect();
    await t?.cleanup();
  });

  /** A staff caller whose session exists in Redis, as auth writes it. */
  const staffWithSession = async (): Promise<Caller> => {
    const caller = { user_id: randomUUID(), role: 'staff', session_id: randomUUID() };
    await redis.hset(sessionKey(caller.session_id), { user_id: caller.user_id, role: 'staff' });
    return caller;
  };
  /** A promise and the function that settles it: an action held open until the test lets it go. */
  const latch = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { opened, open };
  };
  const gateConnections = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'protobank staff gate'`,
      )
    ).rows[0].n;
  const settled = async (p: Promise<unknown>, ms: number) =>
    Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise((r) => setTimeout(() => r(false), ms)),
    ]);

  it(`holds the gates of any number of actions at once on its ${GATE_SESSIONS} connections`, async () => {
    const gate = gateOn(t.databaseUrl);
    const callers = await Promise.all(Array.from({ length: 10 }, () => staffWithSession()));
    const hold = latch();
    let started = 0;
    const actions = Array.from({ length: 60 }, (_, i) =>
      gate.act(callers[i % 10], async (pass) => {
        await pass.owners([randomUUID()]);
        started++;
        await hold.opened;
        return i;
      }),
    );
    await eventually(async () => (started === 60 ? true : undefined), 10000, 'all 60 actions to start');
    expect(await gateConnections()).toBe(GATE_SESSIONS);
    hold.open();
    expect(await Promise.all(actions)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('makes a change wait for the actions of its user under way, and an action sent meanwhile wait for the change and find its session ended', async () => {
    const [accounts, users] = [gateOn(t.databaseUrl), gateOn(t.databaseUrl)];
    const staff = await staffWithSession();
    const hold = latch();
    const order: string[] = [];
    let running = false;
    const first = accounts.act(staff, async () => {
      running = true;
      await hold.opened;
      order.push('first action');
    });
    await eventually(async () => (running ? true : undefined), 5000, 'the first action to run');
    const change = users.changeUser(staff.user_id, async () => {
      order.push('change');
      await redis.del(sessionKey(staff.session_id!)); // what a demotion's session revocation does
    });
    expect(await settled(change, 300)).toBe(false);
    const waitsBefore = waits.change ?? 0;
    let secondRan = false;
    const second = accounts.act(staff, async () => {
      secondRan = true;
    });
    await eventually(
      async () => ((waits.change ?? 0) > waitsBefore ? true : undefined),
      5000,
      'the second action to wait for the change',
    );
    hold.open();
    await Promise.all([first, change]);
    await expect(second).rejects.toMatchObject({ status: 401, code: 'session_ended' });
    expect(secondRan).toBe(false);
    expect(order).toEqual(['first action', 'change']);
  });

  it('makes an action on a customer being made staff wait, then read the new role; one under way lands first', async () => {
    const [cards, users] = [gateOn(t.databaseUrl), gateOn(t.databaseUrl)];
    const staff = await staffWithSession();
    const customer = randomUUID();
    let role = 'customer';
    const hold = latch();
    let running = false;
    const first = cards.act(staff, async (pass) => {
      await pass.owners([customer]);
      running = true;
      await hold.opened;
      return role;
    });
    await eventually(async () => (running ? true : undefined), 5000, 'the first action to run');
    const promotion = users.changeUser(customer, async () => {
      role = 'staff';
    });
    expect(await settled(promotion, 300)).toBe(false);
    const second = cards.act(staff, async (pass) => {
      await pass.owners([customer]);
      return role;
    });
    expect(await settled(second, 300)).toBe(false);
    hold.open();
    expect(await first).toBe('customer');
    await promotion;
    expect(await second).toBe('staff');
  });

  it('lets a change go ahead after 5 s beside an action that outlasts it (logged), then lets the next action in at once', async () => {
    const gate = gateOn(t.databaseUrl);
    const staff = await staffWithSession();
    const hold = latch();
    let running = false;
    const slow = gate.act(staff, async () => {
      running = true;
      await hold.opened;
    });
    await eventually(async () => (running ? true : undefined), 5000, 'the slow action to run');
    const started = Date.now();
    expect(await gate.changeUser(staff.user_id, async () => 'changed')).toBe('changed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    expect(warned).toContainEqual(
      expect.objectContaining({ security_event: 'staff_gate_timeout', user_id: staff.user_id }),
    );
    // The change's request for the gate was withdrawn, not left queued behind the slow action.
    const next = gate.act(staff, async () => 'next');
    expect(await settled(next, 1000)).toBe(true);
    expect(await next).toBe('next');
    hold.open();
    await slow;
  }, 15000);

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

  it('fails a change whose own work fails, without running it twice, and leaves no mark behind', async () => {
    const gate = gateOn(t.databaseUrl);
    const userId = randomUUID();
    let runs = 0;
    await expect(
      gate.changeUser(userId, async () => {
        runs++;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(runs).toBe(1);
    const staff = { ...(await staffWithSession()), user_id: userId };
    await redis.hset(sessionKey(staff.session_id!), { user_id: userId, role: 'staff' });
    expect(await gate.act(staff, async () => 'acted')).toBe('acted');
  });
});
