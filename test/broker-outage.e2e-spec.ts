/**
 * A RabbitMQ outage in the split topology (host processes behind nginx and PgBouncer), on a private
 * broker node the suite stops and starts again (the shared one serves other suites). While customers
 * keep paying each other, the broker stops:
 * - a transfer to an account number needs a contract call (accounts resolves the number): it fails fast,
 *   with 503 once the broker is down (504 if the stop caught it in flight), and the time it took is
 *   printed (no timed assertion);
 * - a transfer to an account id needs no contract call: it commits, and its event waits in the
 *   transactions outbox (the unpublished rows grow);
 * then the broker starts again, every app is ready again by itself (no restart), and nothing is lost:
 * every committed transfer gets its notification and analytics movement exactly once, no event is
 * dead-lettered, no app process exited, and the ledger verifies.
 */
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from './support/actors';
import { deposit, openAccount, transfer, verifiedCustomer, type Account } from './support/banking';
import { auditTransfers, deadLetterDepths } from './support/event-audit';
import { settledAudit } from './support/fault-load';
import { topology } from './support/processes';
import { startPrivateRabbit, type PrivateRabbit } from './support/private-rabbitmq';
import { startTopology, type Running } from './support/topologies';
import { eventually } from './support/test-env';

const PAIRS = 3;

type Phase = 'before' | 'stopping' | 'outage' | 'starting' | 'after' | 'straddling';
type Kind = 'by number' | 'by id';
interface Answer {
  phase: Phase;
  kind: Kind;
  status: number;
  ms: number;
  id?: string;
}

describe('broker outage (split)', () => {
  let rabbit: PrivateRabbit;
  let running: Running;
  const startedAt = Date.now();

  beforeAll(async () => {
    rabbit = await startPrivateRabbit('outage');
    // The apps start while the node boots (they connect once it is up): the two take as long as one.
    // RPC_TIMEOUT_MS: a call caught in flight by the stop gives up (504) within 2 s, not the default 5 s.
    const [split] = await Promise.allSettled([
      startTopology('split', { RABBITMQ_URL: rabbit.url, RPC_TIMEOUT_MS: '2000', OUTBOX_POLL_MS: '250' }),
      rabbit.booted,
    ]).then(async ([topology, booted]) => {
      if (booted.status === 'rejected') {
        if (topology.status === 'fulfilled') await topology.value.stop();
        throw booted.reason;
      }
      return [topology];
    });
    if (split.status === 'rejected') throw split.reason;
    running = split.value;
    // The node's boot may take up to BOOT_DEADLINE_MS (private-rabbitmq.ts) on a loaded machine.
  }, 240_000);
  /** Waits until every app of the split topology answers ready (Postgres, Redis, RabbitMQ, its channels). */
  const everyAppReady = (what: string) =>
    eventually(
      async () => {
        for (const service of topology.SERVICE_NAMES) {
          const res = await request(running.services[service])
            .get('/health/ready')
            .timeout(5000)
            .catch(() => undefined);
          if (res?.status !== 200) return undefined;
        }
        return true;
      },
      60000,
      what,
    );

  afterAll(async () => {
    await running?.stop();
    await rabbit?.destroy();
    process.stdout.write(`broker outage suite: ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
  });

  it('stops RabbitMQ during traffic: contract calls fail fast, events wait in the outbox, nothing is lost, and every app reconnects by itself', async () => {
    await everyAppReady('every app to be ready on the broker');
    const admin = await firstAdmin(running);
    const db = await running.t.db();
    const customers: { payer: Actor; from: Account; to: Account }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const payer = await verifiedCustomer(running, admin, `outage.payer${i}`);
      const payee = await verifiedCustomer(running, admin, `outage.payee${i}`);
      const from = await openAccount(running, payer);
      const to = await openAccount(running, payee);
      await deposit(running, admin, from, 1_000_000);
      customers.push({ payer, from, to });
    }

    let phase: Phase = 'before';
    const answers: Answer[] = [];
    let stopping = false;
    const loops = customers.map(async ({ payer, from, to }, i) => {
      for (let n = i; !stopping; n++) {
        const kind: Kind = n % 2 === 0 ? 'by number' : 'by id';
        const at = phase;
        const began = Date.now();
        const res = await transfer(running, payer, {
          from_account_id: from.id,
          ...(kind === 'by number' ? { to_account_number: to.account_number } : { to_account_id: to.id }),
          amount: 1 + (n % 50),
          currency: 'GBP',
        })
          .timeout(15_000)
          .catch((err: { status?: number }) => ({ status: err.status ?? 599, body: {} as { id?: string } }));
        // An answer counts for a phase only if the whole request ran in it.
        answers.push({
          phase: at === phase ? at : 'straddling',
          kind,
          status: res.status,
          ms: Date.now() - began,
          id: res.status === 201 ? (res.body as { id: string }).id : undefined,
        });
        if (res.status !== 201) await new Promise((r) => setTimeout(r, 50));
      }
    });
    const count = (p: Phase, k: Kind, ok?: boolean) =>
      answers.filter((a) => a.phase === p && a.kind === k && (ok === undefined || (a.status === 201) === ok))
        .length;
    const unpublished = async () =>
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM transactions.outbox WHERE published_at IS NULL',
        )
      ).rows[0].n;

    try {
      await eventually(
        async () =>
          count('before', 'by number', true) > 0 && count('before', 'by id', true) > 0 ? true : undefined,
        30000,
        'transfers of both kinds to go through before the outage',
      );

      phase = 'stopping';
      await rabbit.stop();
      phase = 'outage';
      const waiting = await unpublished();
      // Traffic goes on: calls that need the broker fail, the others commit and their events pile up.
      const grown = await eventually(
        async () => {
          const now = await unpublished();
          return count('outage', 'by number') >= 3 &&
            count('outage', 'by id', true) >= 3 &&
            now >= waiting + 3
            ? now
            : undefined;
        },
        30000,
        'contract calls to fail and events to wait in the outbox',
      );
      process.stdout.write(
        `outbox during the outage: ${waiting} unpublished rows at the stop, then ${grown}\n`,
      );

      phase = 'starting';
      const restarted = Date.now();
      await rabbit.start();
      const brokerSeconds = (Date.now() - restarted) / 1000;
      // Every app reconnects by itself: each answers ready again, with no restart.
      await everyAppReady('every app to be ready again');
      const readySeconds = (Date.now() - restarted) / 1000;
      phase = 'after';
      await eventually(
        async () => (count('after', 'by number', true) > 0 ? true : undefined),
        30000,
        'a transfer needing a contract call to go through again',
      );
      process.stdout.write(
        `the broker accepted connections ${brokerSeconds.toFixed(1)} s after it was started again, every app was ready after ${readySeconds.toFixed(1)} s\n`,
      );
    } finally {
      stopping = true;
      await Promise.all(loops);
    }

    // The table: phase | kind | answers by status | slowest and median ms.
    const lines = ['broker outage (split, host processes): phase | kind | statuses | median ms | max ms'];
    for (const p of ['before', 'stopping', 'outage', 'starting', 'after', 'straddling'] as Phase[]) {
      for (const k of ['by number', 'by id'] as Kind[]) {
        const rows = answers.filter((a) => a.phase === p && a.kind === k);
        if (rows.length === 0) continue;
        const statuses: Record<number, number> = {};
        for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
        lines.push(
          `  ${p.padEnd(10)} ${k.padEnd(9)} ${JSON.stringify(statuses).padEnd(24)} ${String(ms[Math.floor(ms.length / 2)]).padStart(6)} ${String(ms[ms.length - 1]).padStart(6)}`,
        );
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);

    // A call caught in flight by the stop may wait out its deadline (504, counted as stopping or
    // straddling). Once the broker is down, every call needing it fails at once: 503, never a wait for
    // the deadline (504). Every transfer needing no call committed.
    const outage = answers.filter((a) => a.phase === 'outage');
    expect([...new Set(outage.filter((a) => a.kind === 'by number').map((a) => a.status))]).toEqual([503]);
    expect(outage.filter((a) => a.kind === 'by id' && a.status !== 201)).toEqual([]);

    // Nothing is lost or doubled: the events that waited were published once the broker came back.
    const committed = answers.filter((a) => a.id).map((a) => a.id!);
    const audit = await settledAudit(() =>
      auditTransfers(
        db,
        customers.map((c) => c.from.id),
      ),
    );
    process.stdout.write(
      `committed transfers: ${audit.entries} (201s: ${committed.length}); lost: ${audit.lost.length}, doubled: ${audit.doubled.length}\n`,
    );
    const stored = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transactions.entries WHERE id = ANY($1::uuid[])',
      [committed],
    );
    expect(stored.rows[0].n).toBe(committed.length);
    expect(audit.lost).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(await unpublished()).toBe(0);
    // No app exited on its way through the outage (none was restarted: these are the processes started first).
    expect(
      running.children.filter((c) => c.exitCode !== null || c.signalCode !== null).map((c) => c.app),
    ).toEqual([]);
    // No event gave up on its way: every consumer's dead-letter queue (on the private node) is empty.
    const deadLetters = await deadLetterDepths(rabbit.url, running.env.RABBITMQ_PREFIX);
    expect(Object.keys(deadLetters).length).toBeGreaterThan(0);
    expect(Object.values(deadLetters).filter((n) => n > 0)).toEqual([]);
    const verify = await request(running.baseUrl)
      .get('/admin/ledger/verify')
      .set(bearer(admin.token))
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true, mismatches: [] });
  }, 420_000);
});
