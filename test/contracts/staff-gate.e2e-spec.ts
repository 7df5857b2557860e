/**
 * StaffGate on a real Redis, beside the scenarios that force its orders through the API
 * (staff.scenarios.ts): two gates stand for two apps (or instances) of one deployment sharing Redis. Its
 * keys carry this suite's prefix, removed by cleanup().
 */
import { activeKey, changingKey, sessionKey, StaffGate, type Caller } from '@protobank/platform';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

describe('StaffGate on Redis', () => {
  let t: TestEnv;
  let redis: Redis;
  const warned: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => void warned.push(fields) };
  const waits: Record<string, number> = {};
  const metrics = {
    counter: () => ({
      inc: ({ reason }: { reason: string }) => void (waits[reason] = (waits[reason] ?? 0) + 1),
    }),
  };
  const gateOn = (client: Redis) => new StaffGate({ client } as never, logger as never, metrics as never);
  /** A second client on the suite's Redis, as another app has (closed after the suite). */
  const others: Redis[] = [];
  const anotherApp = () => {
    const client = redis.duplicate();
    others.push(client);
    return client;
  };

  beforeAll(async () => {
    t = await createTestEnv('staffgate');
    redis = new Redis(t.env.REDIS_URL, { keyPrefix: t.env.REDIS_KEY_PREFIX });
    // Each gate listens for the client's reconnection (its failed leaves); an app has one gate per client,
    // this suite a gate per test on the same client.
    redis.setMaxListeners(32);
  });
  afterAll(async () => {
    for (const client of others) client.disconnect();
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
  const settled = async (p: Promise<unknown>, ms: number) =>
    Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise((r) => setTimeout(() => r(false), ms)),
    ]);
  /**
   * Starts `act` with a work that waits for `hold`, and waits until that work runs. The action comes back
   * in an object: a promise returned from an async function would be waited for.
   */
  const running = async (
    gate: StaffGate,
    caller: Caller,
    hold: Promise<void>,
    owners: string[] = [],
    then: () => unknown = () => undefined,
  ) => {
    let ran = false;
    const action = gate.act(caller, async (pass) => {
      await pass.owners(owners);
      ran = true;
      await hold;
      return then();
    });
    await eventually(async () => (ran ? true : undefined), 5000, 'the action to run');
    return { action };
  };

  it('records each action under way for its actor and owners, and nothing once they end', async () => {
    const gate = gateOn(redis);
    const staff = await staffWithSession();
    const owner = randomUUID();
    const hold = latch();
    const started = await Promise.all(
      Array.from({ length: 20 }, () => running(gate, staff, hold.opened, [owner])),
    );
    const actions = started.map((s) => s.action);
    expect(await redis.zcard(activeKey(staff.user_id))).toBe(20);
    expect(await redis.zcard(activeKey(owner))).toBe(20);
    hold.open();
    await Promise.all(actions);
    expect(await redis.zcard(activeKey(staff.user_id))).toBe(0);
    expect(await redis.zcard(activeKey(owner))).toBe(0);
  });

  it('makes a change wait for the actions of its user under way, and an action sent meanwhile wait for the change and find its session ended', async () => {
    const [accounts, users] = [gateOn(redis), gateOn(anotherApp())];
    const staff = await staffWithSession();
    const hold = latch();
    const order: string[] = [];
    const { action: first } = await running(accounts, staff, hold.opened, [], () =>
      order.push('first action'),
    );
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
    const [cards, users] = [gateOn(redis), gateOn(anotherApp())];
    const staff = await staffWithSession();
    const customer = randomUUID();
    let role = 'customer';
    const hold = latch();
    const { action: first } = await running(cards, staff, hold.opened, [customer], () => role);
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

  it('keeps a change of a user marked while another change of that user ends first (helper-103)', async () => {
    const [users1, users2, accounts] = [gateOn(redis), gateOn(anotherApp()), gateOn(redis)];
    const staff = await staffWithSession();
    const disableHeld = latch();
    let disabling = false;
    // A disable whose work (its transaction, then the sessions' end) is held open...
    const disable = users1.changeUser(staff.user_id, async () => {
      disabling = true;
      await disableHeld.opened;
      await redis.del(sessionKey(staff.session_id!));
    });
    await eventually(async () => (disabling ? true : undefined), 5000, 'the disable to start its work');
    // ...while a change of nothing of the same user runs and ends.
    await users2.changeUser(staff.user_id, async () => 'nothing changed');
    let ran = false;
    const action = accounts.act(staff, async () => {
      ran = true;
    });
    expect(await settled(action, 300)).toBe(false);
    disableHeld.open();
    await disable;
    await expect(action).rejects.toMatchObject({ status: 401, code: 'session_ended' });
    expect(ran).toBe(false);
    expect(await redis.exists(changingKey(staff.user_id))).toBe(0);
  });

  it("holds nothing while it waits for an owner's change: a change of its actor meanwhile does not wait for it", async () => {
    const gate = gateOn(redis);
    const staff = await staffWithSession();
    const customer = randomUUID();
    // The customer is being changed, and that change is held open.
    await redis.sadd(changingKey(customer), 'a change held open');
    const waiting = gate.act(staff, async (pass) => {
      await pass.owners([customer]);
      return 'acted';
    });
    await eventually(async () => ((waits.change ?? 0) > 0 ? true : undefined), 5000, 'the action to wait');
    // The actor's own change finds nothing of theirs under way: it does not wait its 5 s.
    const started = Date.now();
    await gate.changeUser(staff.user_id, async () => redis.del(sessionKey(staff.session_id!)));
    expect(Date.now() - started).toBeLessThan(2000);
    await redis.del(changingKey(customer));
    await expect(waiting).rejects.toMatchObject({ status: 401, code: 'session_ended' });
  });

  it('lets a change go ahead after 5 s beside an action that outlasts it (logged); the next action enters at once after it', async () => {
    const gate = gateOn(redis);
    const staff = await staffWithSession();
    const hold = latch();
    const { action: slow } = await running(gate, staff, hold.opened);
    const started = Date.now();
    expect(await gate.changeUser(staff.user_id, async () => 'changed')).toBe('changed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    expect(warned).toContainEqual(
      expect.objectContaining({ security_event: 'staff_gate_timeout', user_id: staff.user_id }),
    );
    const next = gate.act(staff, async () => 'next');
    expect(await settled(next, 1000)).toBe(true);
    expect(await next).toBe('next');
    hold.open();
    await slow;
  }, 15000);

  it('refuses an action whose session has ended (401 session_ended), running nothing and leaving no entry', async () => {
    const gate = gateOn(redis);
    const caller = await staffWithSession();
    await redis.del(sessionKey(caller.session_id!));
    let ran = false;
    await expect(gate.act(caller, async () => (ran = true))).rejects.toMatchObject({
      status: 401,
      code: 'session_ended',
    });
    expect(ran).toBe(false);
    expect(await redis.zcard(activeKey(caller.user_id))).toBe(0);
  });

  /**
   * A TCP proxy to the suite's Redis, and a client through it with the app's options (RedisService): an
   * outage drops every connection through it and refuses new ones for `ms`.
   */
  const throughProxy = async () => {
    const target = new URL(t.env.REDIS_URL);
    const sockets = new Set<net.Socket>();
    let down = false;
    const server = net.createServer((client) => {
      if (down) return void client.destroy();
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      sockets.add(client).add(upstream);
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new Redis((server.address() as net.AddressInfo).port, '127.0.0.1', {
      keyPrefix: t.env.REDIS_KEY_PREFIX,
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    client.on('error', () => undefined);
    await client.ping();
    return {
      client,
      outage: (ms: number) => {
        down = true;
        for (const socket of sockets) socket.destroy();
        setTimeout(() => (down = false), ms);
      },
      close: () => {
        client.disconnect();
        for (const socket of sockets) socket.destroy();
        server.close();
      },
    };
  };

  it('keeps a change waiting through a brief Redis outage, for the action under way to land first (helper-104)', async () => {
    const proxy = await throughProxy();
    try {
      const staff = await staffWithSession();
      const hold = latch();
      const order: string[] = [];
      const { action } = await running(gateOn(redis), staff, hold.opened, [], () => order.push('action'));
      const started = Date.now();
      const change = gateOn(proxy.client).changeUser(staff.user_id, async () => order.push('change'));
      await new Promise((r) => setTimeout(r, 200));
      proxy.outage(1000);
      // Its first failed command no longer lets it go ahead: it still waits when the action lets go.
      await new Promise((r) => setTimeout(r, 2300));
      expect(order).toEqual([]);
      hold.open();
      await action;
      await change;
      expect(order).toEqual(['action', 'change']);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(warned).not.toContainEqual(expect.objectContaining({ user_id: staff.user_id }));
    } finally {
      proxy.close();
    }
  }, 15000);

  it('takes back an entry whose leave failed in an outage once Redis is there again, not a minute later (helper-104)', async () => {
    const proxy = await throughProxy();
    try {
      const staff = await staffWithSession();
      const hold = latch();
      const { action } = await running(gateOn(proxy.client), staff, hold.opened);
      expect(await redis.zcard(activeKey(staff.user_id))).toBe(1);
      proxy.outage(3000);
      // The action ends once its client knows Redis is gone: its ZREM fails (not resent on reconnection).
      await new Promise((r) => setTimeout(r, 300));
      hold.open();
      await action;
      await new Promise((r) => setTimeout(r, 2000));
      expect(await redis.zcard(activeKey(staff.user_id))).toBe(1);
      await eventually(
        async () => ((await redis.zcard(activeKey(staff.user_id))) === 0 ? true : undefined),
        8000,
        'the entry to be taken back after the outage',
      );
      const started = Date.now();
      expect(await gateOn(redis).changeUser(staff.user_id, async () => 'changed')).toBe('changed');
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      proxy.close();
    }
  }, 20000);

  it('lets a change go ahead when Redis does not answer (logged)', async () => {
    const dead = new Redis(await processes.freePort(), '127.0.0.1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on('error', () => undefined);
    const userId = randomUUID();
    expect(await gateOn(dead).changeUser(userId, async () => 'changed')).toBe('changed');
    expect(warned).toContainEqual(
      expect.objectContaining({ security_event: 'staff_gate_timeout', user_id: userId }),
    );
    dead.disconnect();
  });

  it('fails a change whose own work fails, without running it twice, and leaves no mark behind', async () => {
    const gate = gateOn(redis);
    const userId = randomUUID();
    let runs = 0;
    await expect(
      gate.changeUser(userId, async () => {
        runs++;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(runs).toBe(1);
    expect(await redis.exists(changingKey(userId))).toBe(0);
  });
});
