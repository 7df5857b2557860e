/**
 * Faults under load in the split topology, as host processes (the container suite does the same to
 * containers): while customers keep paying each other through the edge, each service in turn is killed
 * with SIGKILL and started again, as compose's `restart: unless-stopped` would. Clients may see 5xx
 * during a fault, but nothing that committed is lost or doubled: every 201 is in the ledger, every
 * committed transfer has one notification and one analytics movement per party, the ledger verifies, and
 * no event ends in a dead-letter queue. Prints a table: fault | 2xx | 5xx | seconds to ready.
 */
import amqp from 'amqplib';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from './support/actors';
import { deposit, openAccount, transfer, verifiedCustomer, type Account } from './support/banking';
import { auditTransfers, type EventAudit } from './support/event-audit';
import { processes, topology, type AppProcess } from './support/processes';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

const PAIRS = 6;
/** How long the load goes on after a restarted service is ready, before the next fault. */
const AFTER_READY_MS = 1500;

interface Window {
  fault: string;
  ok: number;
  failed: number;
  other: number;
  readySeconds?: number;
}

describe('faults under load (split)', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startTopology('split');
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('kills each service in turn while transfers run: nothing committed is lost or doubled, and it recovers by itself', async () => {
    const admin = await firstAdmin(running);
    const pairs: { payer: Actor; from: Account; to: Account }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const payer = await verifiedCustomer(running, admin, `fault.payer${i}`);
      const payee = await verifiedCustomer(running, admin, `fault.payee${i}`);
      const from = await openAccount(running, payer);
      const to = await openAccount(running, payee);
      await deposit(running, admin, from, 10_000_000);
      pairs.push({ payer, from, to });
    }

    const committed = new Set<string>();
    const windows: Window[] = [];
    let window: Window = { fault: 'none (warm-up)', ok: 0, failed: 0, other: 0 };
    let stopping = false;
    const loops = pairs.map(async ({ payer, from, to }) => {
      while (!stopping) {
        const res = await transfer(running, payer, {
          from_account_id: from.id,
          to_account_number: to.account_number,
          amount: randomInt(1, 100),
          currency: 'GBP',
        })
          .timeout(15_000)
          .catch((err: { status?: number }) => ({ status: err.status ?? 599, body: {} as { id?: string } }));
        if (res.status === 201) {
          window.ok++;
          committed.add((res.body as { id: string }).id);
        } else if (res.status >= 500) window.failed++;
        else window.other++;
        if (res.status !== 201) await new Promise((r) => setTimeout(r, 50));
      }
    });

    const edgeReady = async () =>
      (
        await request(running.baseUrl)
          .get('/health/ready')
          .timeout(5000)
          .catch(() => undefined)
      )?.status === 200
        ? true
        : undefined;
    await new Promise((r) => setTimeout(r, AFTER_READY_MS));
    windows.push(window);
    for (const service of topology.SERVICE_NAMES) {
      window = { fault: `kill -9 ${service}`, ok: 0, failed: 0, other: 0 };
      const index = running.children.findIndex((c) => c.app === service);
      const killed = running.children[index];
      const exited = new Promise((r) => killed.once('exit', r));
      killed.kill('SIGKILL');
      await exited;
      const started = Date.now();
      const port = new URL(running.services[service]).port;
      const again: AppProcess = processes.spawnApp(
        service,
        { ...running.env, PORT: port },
        { logFile: join(running.t.logDir, `${service}-after-kill.log`) },
      );
      running.children[index] = again; // the harness stops it with the rest
      await eventually(edgeReady, 60_000, `every service ready after ${service} was killed`);
      window.readySeconds = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, AFTER_READY_MS));
      windows.push(window);
    }
    stopping = true;
    await Promise.all(loops);

    const db = await running.t.db();
    const payers = pairs.map((p) => p.from.id);
    // Events still in flight (outboxes, queues) arrive by themselves; wait for them, then judge.
    let audit: EventAudit = await auditTransfers(db, payers);
    await eventually(
      async () => {
        audit = await auditTransfers(db, payers);
        return audit.lost.length === 0 ? true : undefined;
      },
      60_000,
      'every committed transfer notified and counted',
    ).catch(() => undefined);

    process.stdout.write(
      [
        'faults under load (split, host processes):',
        '  fault                   2xx   5xx  other  seconds to ready',
        ...windows.map(
          (w) =>
            `  ${w.fault.padEnd(22)} ${String(w.ok).padStart(4)}  ${String(w.failed).padStart(4)}  ${String(w.other).padStart(5)}  ${w.readySeconds?.toFixed(1) ?? '-'}`,
        ),
        `  committed transfers: ${audit.entries} (201s: ${committed.size}); events lost: ${audit.lost.length}, doubled: ${audit.doubled.length}`,
        '',
      ].join('\n'),
    );

    const stored = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transactions.entries WHERE id = ANY($1::uuid[])',
      [[...committed]],
    );
    expect(stored.rows[0].n).toBe(committed.size);
    expect(committed.size).toBeGreaterThan(0);
    expect(audit.lost).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(windows.map((w) => w.other)).toEqual(windows.map(() => 0));
    const verify = await request(running.baseUrl)
      .get('/admin/ledger/verify')
      .set(bearer(admin.token))
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true, mismatches: [] });
    // A service that consumes events has a dead-letter queue; none may hold a message.
    const connection = await amqp.connect(running.env.RABBITMQ_URL);
    const deadLetters: Record<string, number> = {};
    try {
      for (const service of topology.SERVICE_NAMES) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined); // a 404 closes the channel: no such queue
        const dead = await channel
          .checkQueue(`${running.env.RABBITMQ_PREFIX}.dead.events.${service}`)
          .catch(() => undefined);
        if (dead) deadLetters[service] = dead.messageCount;
      }
    } finally {
      await connection.close();
    }
    expect(Object.keys(deadLetters).length).toBeGreaterThan(0);
    expect(Object.values(deadLetters).filter((n) => n > 0)).toEqual([]);
  }, 300_000);
});
