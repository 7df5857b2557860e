/**
 * Faults under load in the split topology, as host processes (the container suite does the same to
 * containers): while customers keep paying each other through the edge, each service in turn is killed
 * with SIGKILL and started again, as compose's `restart: unless-stopped` would. Clients may see 5xx
 * during a fault, but nothing that committed is lost or doubled: every 201 is in the ledger, every
 * committed transfer has one notification and one analytics movement per party, the ledger verifies, and
 * no event ends in a dead-letter queue. Prints a table: fault | 2xx | 5xx | seconds to ready.
 */
import { join } from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin } from './support/actors';
import { auditTransfers, deadLetterDepths } from './support/event-audit';
import { faultTable, secondsToReady, settledAudit, startTransferLoad } from './support/fault-load';
import { processes, topology, type AppProcess } from './support/processes';
import { startTopology, type Running } from './support/topologies';

const PAIRS = 6;
/** How long the load goes on after a restarted service is ready, before the next fault. */
const AFTER_READY_MS = 1500;

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
    const load = await startTransferLoad(running, admin, PAIRS, 'fault');
    await new Promise((r) => setTimeout(r, AFTER_READY_MS));
    for (const service of topology.SERVICE_NAMES) {
      const window = load.next(`kill -9 ${service}`);
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
      window.readySeconds = await secondsToReady(
        running.baseUrl,
        started,
        `ready after ${service} was killed`,
      );
      await new Promise((r) => setTimeout(r, AFTER_READY_MS));
    }
    await load.stop();

    const db = await running.t.db();
    // Events still in flight (outboxes, queues) arrive by themselves; wait for them, then judge.
    const audit = await settledAudit(() => auditTransfers(db, load.payerAccounts));
    process.stdout.write(faultTable('faults under load (split, host processes)', load, audit));
    const committed = load.committed;
    const stored = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transactions.entries WHERE id = ANY($1::uuid[])',
      [[...committed]],
    );
    expect(stored.rows[0].n).toBe(committed.size);
    expect(committed.size).toBeGreaterThan(0);
    expect(audit.lost).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(load.windows.map((w) => w.other)).toEqual(load.windows.map(() => 0));
    const verify = await request(running.baseUrl)
      .get('/admin/ledger/verify')
      .set(bearer(admin.token))
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true, mismatches: [] });
    // A service that consumes events has a dead-letter queue; none may hold a message.
    const deadLetters = await deadLetterDepths(running.env.RABBITMQ_URL, running.env.RABBITMQ_PREFIX);
    expect(Object.keys(deadLetters).length).toBeGreaterThan(0);
    expect(Object.values(deadLetters).filter((n) => n > 0)).toEqual([]);
  }, 300_000);
});
