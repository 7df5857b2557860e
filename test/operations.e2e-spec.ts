/**
 * What operators rely on: readiness that names the failing dependency, a config error that stops the
 * process with a message naming the variable, production refusing development secrets, and SIGTERM
 * draining in-flight requests before exit (after SHUTDOWN_DELAY_MS of serving while not ready).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { MIGRATIONS } from '@protobank/migrations';
import { startRedis } from './support/private-redis';
import { processes, type AppProcess } from './support/processes';
import { createTestEnv, eventually, type TestEnv } from './support/test-env';

const MAIN = join(__dirname, '../dist/apps/monolith/src/main.js');

describe('operations', () => {
  let t: TestEnv;
  const children: (ChildProcess | AppProcess)[] = [];

  beforeAll(async () => {
    t = await createTestEnv('ops');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
  });
  afterAll(async () => {
    for (const c of children) await processes.stop(c as AppProcess, 3000);
    await t?.cleanup();
  });

  async function monolith(env: Record<string, string>, name: string) {
    const port = await processes.freePort();
    const child = processes.spawnApp(
      'monolith',
      { ...t.env, ...env, PORT: String(port) },
      { logFile: join(t.logDir, `${name}.log`) },
    );
    children.push(child);
    return { child, url: `http://127.0.0.1:${port}` };
  }

  /** SIGTERM, then until the draining app refuses new connections (it stops listening first). */
  async function startDrain(child: AppProcess, port: string) {
    child.kill('SIGTERM');
    await eventually(
      async () => ((await processes.portAnswers(Number(port))) ? undefined : true),
      10000,
      'the draining app to refuse new connections',
    );
  }

  it('turns /health/ready into 503 naming redis when Redis stops, keeps /health/live at 200, and recovers', async () => {
    const redisPort = await processes.freePort();
    let redis = startRedis(redisPort);
    children.push(redis);
    const { child, url } = await monolith({ REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 'redis-down');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });

    // Registered while Redis is up; after it stops, login (which opens a session in Redis) must be a
    // 503 the client may retry, not a 500.
    const email = `nored.${Date.now()}@example.com`;
    await request(url)
      .post('/auth/register')
      .send({ email, password: 'correct horse battery staple', full_name: 'Ned' })
      .expect(201);
    redis.kill('SIGKILL');
    const down = await eventually(
      async () => {
        const res = await request(url).get('/health/ready');
        return res.status === 503 ? res : undefined;
      },
      10000,
      'readiness to fail',
    );
    expect(down.body).toMatchObject({ status: 503, code: 'not_ready', message: 'not ready: redis' });
    expect(down.body.details).toEqual([{ field: 'redis', message: expect.any(String) }]);
    await request(url).get('/health/live').expect(200);
    const login = await request(url)
      .post('/auth/login')
      .send({ email, password: 'correct horse battery staple' })
      .expect(503);
    expect(login.body.code).toBe('dependency_unavailable');

    redis = startRedis(redisPort);
    children.push(redis);
    await processes.waitReady(`${url}/health/ready`, { children: [child], timeoutMs: 15000 });
  });

  it('is not ready while a migration is pending, naming migrations', async () => {
    const pending = await createTestEnv('pending');
    try {
      await processes.runOnce('migrate', pending.env, { logFile: join(pending.logDir, 'migrate.log') });
      const revert = spawnSync(
        process.execPath,
        [join(__dirname, '../dist/apps/migrate/src/main.js'), '--revert'],
        {
          env: { ...process.env, ...pending.env },
        },
      );
      expect(revert.status).toBe(0);
      // It says which one it reverted (the newest in the list).
      expect(revert.stdout.toString()).toContain(`"reverted":"${MIGRATIONS.at(-1)!.name}"`);
      const port = await processes.freePort();
      const child = processes.spawnApp(
        'monolith',
        { ...pending.env, PORT: String(port) },
        { logFile: join(pending.logDir, 'app.log') },
      );
      try {
        const url = `http://127.0.0.1:${port}`;
        await processes.waitReady(`${url}/health/live`, { children: [child] });
        const res = await request(url).get('/health/ready').expect(503);
        expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(['migrations']);
      } finally {
        await processes.stop(child);
      }
    } finally {
      await pending.cleanup();
    }
  });

  it('gives back its connection when the migrations check fails (a pool of 2 outlasts many probes)', async () => {
    const broken = await createTestEnv('migrations-unreadable');
    try {
      await processes.runOnce('migrate', broken.env, { logFile: join(broken.logDir, 'migrate.log') });
      const port = await processes.freePort();
      const child = processes.spawnApp(
        'monolith',
        { ...broken.env, PORT: String(port), DATABASE_POOL_SIZE: '2' },
        { logFile: join(broken.logDir, 'app.log') },
      );
      try {
        const url = `http://127.0.0.1:${port}`;
        await processes.waitReady(`${url}/health/ready`, { children: [child] });
        // The check's query now fails (a query error, not a lost connection): TypeORM kept the
        // connection of each failed check, and two probes exhausted the pool.
        const db = await broken.db();
        await db.query('ALTER TABLE public.migrations RENAME COLUMN id TO id_hidden');
        for (let probe = 0; probe < 5; probe++) {
          const res = await request(url).get('/health/ready').expect(503);
          expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(['migrations']);
        }
        await db.query('ALTER TABLE public.migrations RENAME COLUMN id_hidden TO id');
        await db.end();
        await request(url).get('/health/ready').expect(200);
      } finally {
        await processes.stop(child);
      }
    } finally {
      await broken.cleanup();
    }
  });

  it('ignores X-Forwarded-For from a client that is not a trusted proxy (no rate-limit bypass)', async () => {
    // Only 10.9.9.9 is a trusted proxy here: the loopback client's forwarded addresses are not believed,
    // so every attempt counts against 127.0.0.1 whatever the header says.
    const { child, url } = await monolith(
      { TRUST_PROXY: '10.9.9.9', LOGIN_RATE_LIMIT_PER_MINUTE: '3' },
      'untrusted-xff',
    );
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    for (let i = 0; i < 3; i++) {
      await request(url)
        .post('/auth/login')
        .set('X-Forwarded-For', `198.51.100.${i}`)
        .send({ email: `spoof.${i}@example.com`, password: 'correct horse battery staple' })
        .expect(401);
    }
    const res = await request(url)
      .post('/auth/login')
      .set('X-Forwarded-For', '198.51.100.99')
      .send({ email: 'spoof.x@example.com', password: 'correct horse battery staple' })
      .expect(429);
    expect(res.body.code).toBe('rate_limited');
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped one by its IPv4 address (no rate-limit bypass)', async () => {
    // The loopback client is a trusted proxy here (the default): its X-Forwarded-For is the client.
    const { child, url } = await monolith({ LOGIN_RATE_LIMIT_PER_MINUTE: '3' }, 'ipv6-limits');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    const login = (from: string, i: number) =>
      request(url)
        .post('/auth/login')
        .set('X-Forwarded-For', from)
        .send({ email: `v6.${i}@example.com`, password: 'correct horse battery staple' });
    // A fresh address of one /64 for every attempt: the fourth is over the limit all the same.
    for (let i = 1; i <= 3; i++) await login(`2001:db8:77:1::${i}`, i).expect(401);
    expect((await login('2001:db8:77:1:ffff::4', 4).expect(429)).body.code).toBe('rate_limited');
    // Another /64 is another client.
    await login('2001:db8:77:2::1', 5).expect(401);
    // The same IPv4 client written both ways is one client.
    await login('10.9.8.8', 6).expect(401);
    await login('::ffff:10.9.8.8', 7).expect(401);
    await login('10.9.8.8', 8).expect(401);
    expect((await login('::ffff:10.9.8.8', 9).expect(429)).body.code).toBe('rate_limited');
  });

  it('refuses to start on a malformed variable, naming it', () => {
    const res = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, ...t.env, DATABASE_URL: 'mysql://nope', RPC_TIMEOUT_MS: 'soon' },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('DATABASE_URL must use postgres: or postgresql:');
    expect(res.stderr).toContain('RPC_TIMEOUT_MS must be an integer');
  });

  it('refuses development secrets in production', () => {
    const env = { ...process.env, NODE_ENV: 'production', PATH: process.env.PATH } as Record<
      string,
      string | undefined
    >;
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'RABBITMQ_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD'])
      delete env[key];
    env.RABBITMQ_URL = 'amqp://guest:guest@rabbit:5672';
    const res = spawnSync(process.execPath, [MAIN], { env, encoding: 'utf8', timeout: 20000 });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('DATABASE_URL must be set explicitly in production');
    expect(res.stderr).toContain('REDIS_URL must be set explicitly in production');
    expect(res.stderr).toContain('RABBITMQ_URL holds a development value');
  });

  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    const { child, url } = await monolith({}, 'drain');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    const body = JSON.stringify({
      email: `drain.${Date.now()}@example.com`,
      password: 'correct horse battery staple',
      full_name: 'Dee',
    });
    const { port } = new URL(url);
    // Each step waits for the state it needs, not for a time: the headers go first with
    // `Expect: 100-continue`, so the server's 100 says it has the request; then the SIGTERM; then, once
    // new connections are refused, the body.
    let req!: http.ClientRequest;
    let accepted!: () => void;
    const started = new Promise<void>((resolve) => (accepted = resolve));
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/auth/register',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            expect: '100-continue',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.on('continue', accepted);
      req.flushHeaders();
    });
    await started;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // While that request is still in flight, the app comes to refuse new connections.
    await startDrain(child, port);
    req.end(body);
    const res = await response;
    expect(res.status).toBe(201);
    expect(await exited).toBe(0);
  });

  it('turns readiness 503 on SIGTERM and serves everything else for SHUTDOWN_DELAY_MS, a signal right after it too; a later second signal drains at once', async () => {
    // Far longer than the steps below take, however loaded the machine: the second signal ends it.
    const { child, url } = await monolith({ SHUTDOWN_DELAY_MS: '60000' }, 'delay');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    const { port } = new URL(url);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Ctrl-C reaches the whole process group and npm's wrapper then sends SIGTERM: two signals, one stop.
    // One within a second of the first is ignored, so the delay below still holds.
    child.kill('SIGTERM');
    child.kill('SIGINT');
    const ready = await eventually(
      async () => {
        const res = await request(url).get('/health/ready');
        return res.status === 503 ? res : undefined;
      },
      5000,
      'readiness to turn 503',
    );
    expect(ready.body).toMatchObject({
      code: 'not_ready',
      details: [{ field: 'shutdown', message: expect.stringContaining('SHUTDOWN_DELAY_MS') }],
    });
    // Still listening, live, and serving new connections: a request that reaches it is answered.
    await request(url).get('/health/live').expect(200);
    await request(url)
      .post('/auth/register')
      .send({
        email: `late.${Date.now()}@example.com`,
        password: 'correct horse battery staple',
        full_name: 'Lee',
      })
      .expect(201);
    expect(await processes.portAnswers(Number(port))).toBe(true);
    // A later second signal (sent until taken, as one within a second of the first is ignored):
    // it drains as without the delay, and exits 0.
    await eventually(
      async () => {
        child.kill('SIGINT');
        return (await processes.portAnswers(Number(port))) ? undefined : true;
      },
      15000,
      'the listener to close after a second signal',
    );
    expect(await exited).toBe(0);
  });

  it('answers a request that arrives on an open connection while draining, even one answered at once (404)', async () => {
    const { child, url } = await monolith({}, 'drain-404');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    // Half a request: the connection is busy (not idle, so the drain does not close it) until the rest.
    socket.write('GET /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // The app cannot be asked whether it has read those bytes (if not, the drain would close the
    // connection as idle and no answer would come): a second is ample on loopback, even under load.
    await new Promise((r) => setTimeout(r, 1000));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await startDrain(child, port);
    // Fastify answers an unknown route within its own 'request' listener: the drain's Connection: close
    // must be set before that, not after (ERR_HTTP_HEADERS_SENT, uncaught, ended the process).
    socket.write('\r\n');
    await eventually(async () => (/\r\n\r\n/.test(received) ? true : undefined), 10000, 'the answer');
    expect(received).toMatch(/^HTTP\/1\.1 404 /);
    expect(received.toLowerCase()).toContain('connection: close');
    expect(await exited).toBe(0);
    socket.destroy();
  });

  it('keeps one outbox listener through repeated losses of its Postgres connection', async () => {
    const { child, url } = await monolith({}, 'listen-loss');
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    const db = await t.db();
    const listeners = async () =>
      (
        await db.query<{ pid: number }>(
          // This app's: the suite's other apps share the database, each with a listener of its own.
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
          [`protobank outbox listener ${child.pid}`],
        )
      ).rows.map((r) => r.pid);
    let [pid] = await eventually(
      async () => ((await listeners()).length ? listeners() : undefined),
      10000,
      'a listener',
    );
    for (let loss = 0; loss < 3; loss++) {
      // What a Postgres restart or a failover does to the connection.
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      const lost = pid;
      [pid] = await eventually(
        async () => {
          const now = await listeners();
          return now.length && !now.includes(lost) ? now : undefined;
        },
        15000,
        'the listener to reconnect',
      );
    }
    // Each loss made one new listener, not one per error pg emitted for it (they doubled each time).
    await new Promise((r) => setTimeout(r, 3000)); // a second retry would have come 2 s after the first
    expect(await listeners()).toEqual([pid]);
    await request(url).get('/health/ready').expect(200);
  });
});
