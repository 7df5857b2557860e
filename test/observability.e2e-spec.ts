/**
 * The monitoring of the split stack for real, on the host: the split topology as processes, a real
 * Prometheus (Debian's) on loopback with a config derived from docker/prometheus/prometheus.yml (the same
 * jobs and rules; targets rewritten to the host ports, scrape and evaluation every 5 s instead of 15 s)
 * and a real Alertmanager with the committed route, its webhook pointed at an in-test receiver.
 *   1. every target the committed config scrapes is up;
 *   2. after traffic that touches every panel (transfers, a refused one, deposits, a card authorisation,
 *      clearing and decline, a scheduled payment, notifications by e-mail, SMS and push), every query of
 *      every dashboard in docker/grafana returns data through Prometheus's HTTP API, with Grafana's
 *      variables filled in as Grafana would ($__rate_interval 1m with a 15 s scrape; $service "All" and one
 *      service);
 *   3. the alert drill: one service stops, and ServiceDown for it reaches the webhook, firing, with the
 *      committed `for: 1m` and Alertmanager's committed group_wait.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from './support/actors';
import { deposit, issueCard, openAccount, transfer, verifiedCustomer } from './support/banking';
import {
  dashboardQueries,
  deriveAlertmanagerConfig,
  derivePrometheusConfig,
  promApi,
  startAlertmanager,
  startPrometheus,
  type Sample,
  type Server,
} from './support/monitoring';
import { processes } from './support/processes';
import { startReceivers, type Receivers } from './support/receivers';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';
import { PAYMENTS_TEST_ENV } from './scenarios/payments.scenarios';

const INTERVAL = '5s';
/** What Grafana's $__rate_interval is with the data source's 15 s scrape interval: 4 × 15 s. */
const GRAFANA_VARS = { __rate_interval: '1m', __interval: '15s', __range: '1h' };

const today = () =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: PAYMENTS_TEST_ENV.BANK_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());

/** Everything the dashboards show, once: money moving, cards, a payment, notifications. */
async function exercise(running: Running, admin: Actor, round: number): Promise<void> {
  const http = () => request(running.baseUrl);
  const alice = await verifiedCustomer(running, admin, `observe${round}.alice`);
  const bob = await verifiedCustomer(running, admin, `observe${round}.bob`);
  const a = await openAccount(running, alice);
  const b = await openAccount(running, bob);
  await deposit(running, admin, a, 500_000);
  for (let i = 0; i < 5; i++) {
    await transfer(running, alice, {
      from_account_id: a.id,
      to_account_number: b.account_number,
      amount: 1000 + i,
      currency: 'GBP',
    }).expect(201);
  }
  const refused = await transfer(running, alice, {
    from_account_id: a.id,
    to_account_number: b.account_number,
    amount: 100_000_000,
    currency: 'GBP',
  }).expect(422);
  expect(refused.body.code).toBe('insufficient_funds');

  // Cards: an approval that clears, and a decline.
  const card = await issueCard(running, alice, a);
  const secret = running.t.env.CARD_NETWORK_SECRET;
  const network = (path: string, body: unknown) => {
    const raw = JSON.stringify(body);
    const t = Math.floor(Date.now() / 1000);
    const mac = createHmac('sha256', secret).update(`${t}.POST /card-network/${path}.${raw}`);
    const sig = `t=${t},v2=${mac.digest('hex')}`;
    return http()
      .post(`/card-network/${path}`)
      .set('Content-Type', 'application/json')
      .set('X-Card-Network-Signature', sig)
      .send(raw);
  };
  const authorisation = (amount: number) => ({
    network_transaction_id: `NTX-${randomUUID()}`,
    pan: card.pan,
    expiry_month: card.expiry_month,
    expiry_year: card.expiry_year,
    cvc: card.cvc,
    amount,
    currency: 'GBP',
    merchant: { name: 'Starbucks', category_code: '5814', city: 'London', country: 'GB' },
    channel: 'contactless',
  });
  const approved = await network('authorisations', authorisation(2550)).expect(200);
  expect(approved.body).toEqual({ approved: true, authorisation_id: expect.any(String) });
  await network('clearings', {
    network_transaction_id: `NTX-${randomUUID()}`,
    authorisation_id: approved.body.authorisation_id,
    amount: 2550,
    currency: 'GBP',
  }).expect(200);
  const declined = await network('authorisations', authorisation(90_000_000)).expect(200);
  expect(declined.body).toEqual({ approved: false, decline_reason: 'insufficient_funds' });

  // A payment scheduled for today, paid by the sweep.
  const sortCode = (
    (await http().get(`/accounts/${b.id}`).set(bearer(bob.token)).expect(200)).body.sort_code as string
  ).replace(/-/g, '');
  const payee = await http()
    .post('/payees')
    .set(bearer(alice.token))
    .send({ name: 'Bob', sort_code: sortCode, account_number: b.account_number })
    .expect(201);
  const scheduled = await http()
    .post('/scheduled-payments')
    .set(bearer(alice.token))
    .set('Idempotency-Key', randomUUID())
    .send({
      from_account_id: a.id,
      payee_id: payee.body.id,
      amount: 1250,
      currency: 'GBP',
      reference: `OBSERVE ${round}`,
      pay_on: today(),
    })
    .expect(201);
  await http().post('/admin/payments/run-due').set(bearer(admin.token)).expect(200);
  await eventually(
    async () => {
      const res = await http().get(`/scheduled-payments/${scheduled.body.id}`).set(bearer(alice.token));
      return res.body.status === 'paid' ? true : undefined;
    },
    60_000,
    'the scheduled payment to be paid',
  );
  // Bob is told of the money in, in the app.
  await eventually(
    async () => {
      const res = await http().get('/notifications').set(bearer(bob.token)).expect(200);
      return (res.body.data as unknown[]).length > 0 ? true : undefined;
    },
    30_000,
    "bob's notifications",
  );
  // Alice looks at her spending (analytics' day summaries).
  await http().get('/analytics/spending').set(bearer(alice.token)).expect(200);
}

/**
 * Waits until Prometheus has scraped every target after `since` (ms). A labelled counter appears at its
 * first increment, so rate() sees only the increments after the first scrape that found it: the traffic
 * runs twice with this in between, as a dashboard of a live bank would see it.
 */
async function scrapedAfter(prometheus: Server, since: number): Promise<void> {
  await eventually(
    async () => {
      const data = await promApi<{ activeTargets: { lastScrape: string }[] }>(prometheus.url, 'targets');
      return data.activeTargets.every((t) => Date.parse(t.lastScrape) > since) ? true : undefined;
    },
    30_000,
    'a scrape of every target',
  );
}

/** Any sample of the range result that is a number (not NaN or ±Inf). */
const hasData = (result: Sample[]) =>
  result.some((s) => (s.values ?? []).some(([, v]) => Number.isFinite(Number(v))));

describe('monitoring of the split topology (Prometheus, Alertmanager, dashboards)', () => {
  let receivers: Receivers;
  let running: Running;
  let alertmanager: Server;
  let prometheus: Server;
  let admin: Actor;

  beforeAll(async () => {
    receivers = await startReceivers();
    running = await startTopology('split', {
      ...receivers.env,
      ...PAYMENTS_TEST_ENV,
      LEDGER_VERIFY_INTERVAL_MINUTES: '1',
    });
    const hooks = new URL(receivers.env.SMS_WEBHOOK_URL);
    alertmanager = await startAlertmanager(
      deriveAlertmanagerConfig(`${hooks.origin}/alerts`),
      running.t.logDir,
    );
    prometheus = await startPrometheus(
      (self, tokenFile) =>
        derivePrometheusConfig({
          services: running.services,
          prometheus: self,
          alertmanager: new URL(alertmanager.url).host,
          tokenFile,
          interval: INTERVAL,
        }),
      running.t.env.METRICS_TOKEN,
      running.t.logDir,
    );
    admin = await firstAdmin(running);
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await running?.stop();
    await receivers?.stop();
  });

  it('scrapes every target of the committed config: the eight apps with their token, itself and Alertmanager', async () => {
    type Target = { labels: Record<string, string>; health: string; lastError: string };
    const targets = await eventually(
      async () => {
        const data = await promApi<{ activeTargets: Target[] }>(prometheus.url, 'targets');
        return data.activeTargets.length > 0 && data.activeTargets.every((t) => t.health === 'up')
          ? data.activeTargets
          : undefined;
      },
      60_000,
      'every scrape target up',
    ).catch(async (err: Error) => {
      const data = await promApi<{ activeTargets: Target[] }>(prometheus.url, 'targets');
      throw new Error(
        `${err.message}: ${JSON.stringify(data.activeTargets.map((t) => [t.labels.service, t.health, t.lastError]))}`,
      );
    });
    expect(targets.map((t) => `${t.labels.job}/${t.labels.service}`).sort()).toEqual(
      [
        ...Object.keys(running.services).map((s) => `protobank/${s}`),
        'prometheus/prometheus',
        'alertmanager/alertmanager',
      ].sort(),
    );
  });

  it('answers every panel query of every dashboard with data after traffic', async () => {
    const since = Date.now() / 1000 - 30;
    await exercise(running, admin, 1);
    await scrapedAfter(prometheus, Date.now());
    await exercise(running, admin, 2);
    const queries = [
      ...dashboardQueries({ ...GRAFANA_VARS, service: '.+' }),
      ...dashboardQueries({ ...GRAFANA_VARS, service: 'transactions' }).filter((q) =>
        q.expr.includes('"transactions"'),
      ),
    ];
    expect(queries.length).toBeGreaterThan(50);
    const empty = new Map(queries.map((q) => [`${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`, q]));
    // The last of the traffic reaches Prometheus within a scrape or two; every query gets its chance.
    await eventually(
      async () => {
        const end = String(Date.now() / 1000);
        for (const [key, q] of empty) {
          const data = await promApi<{ result: Sample[] }>(prometheus.url, 'query_range', {
            query: q.expr,
            start: String(since),
            end,
            step: '5',
          });
          if (hasData(data.result)) empty.delete(key);
        }
        return empty.size === 0 ? true : undefined;
      },
      90_000,
      'data for every panel',
    ).catch(() => undefined);
    expect([...empty.keys()]).toEqual([]);
    process.stdout.write(`[observability] ${queries.length} panel queries, every one with data\n`);

    // The overview's main panels over this run, for the README's picture (scripts/render-graphs.js).
    const main: [string, string, string][] = [
      ['Request rate per service', 'A', 'req/s'],
      ['Latency per service (p50, p95, p99)', 'C', 's'],
      ['Money moved per kind and currency (minor units per minute)', 'A', ''],
      ['Ledger entries per minute (transfers, deposits, …) by outcome', 'A', ''],
    ];
    const overview = dashboardQueries({ ...GRAFANA_VARS, service: '.+' }).filter(
      (q) => q.dashboard === 'Protobank overview',
    );
    const graphs = [];
    for (const [panel, refId, unit] of main) {
      const q = overview.find((o) => o.panel === panel && o.refId === refId)!;
      const data = await promApi<{ result: Sample[] }>(prometheus.url, 'query_range', {
        query: q.expr,
        start: String(since),
        end: String(Date.now() / 1000),
        step: '5',
      });
      graphs.push({
        title: refId === 'C' ? 'p99 latency per service' : panel,
        unit,
        series: data.result.map((r) => ({
          name: Object.values(r.metric).join(' '),
          points: (r.values ?? []).map(([t, v]) => [t, Number(v)]),
        })),
      });
    }
    const file = join(running.t.logDir, 'overview-graphs.json');
    writeFileSync(file, JSON.stringify(graphs));
    process.stdout.write(`[observability] the overview's main queries over this run: ${file}\n`);
  }, 300_000);

  it('drill: a service stops, and ServiceDown for it reaches the webhook receiver, firing', async () => {
    const victim = 'analytics';
    const child = running.children.find((c) => c.app === victim)!;
    const stoppedAt = Date.now();
    await processes.stop(child);
    type Alert = { status: string; labels: Record<string, string>; annotations: Record<string, string> };
    const alert = await eventually(
      async () =>
        receivers.hooks
          .filter((h) => h.path === '/alerts')
          .flatMap((h) => (h.body.alerts as Alert[] | undefined) ?? [])
          .find(
            (a) =>
              a.labels.alertname === 'ServiceDown' && a.labels.service === victim && a.status === 'firing',
          ),
      180_000,
      `ServiceDown for ${victim} at the webhook`,
    );
    expect(alert).toMatchObject({
      labels: { severity: 'critical', job: 'protobank' },
      annotations: { summary: `${victim} is down`, runbook_url: 'docs/runbook.md#servicedown' },
    });
    // Only the stopped service is down.
    const others = receivers.hooks
      .filter((h) => h.path === '/alerts')
      .flatMap((h) => (h.body.alerts as Alert[]) ?? [])
      .filter((a) => a.labels.alertname === 'ServiceDown' && a.labels.service !== victim);
    expect(others).toEqual([]);
    process.stdout.write(
      `[observability] ServiceDown for ${victim} at the webhook ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after it stopped (for: 1m, group_wait 30s, scrape and evaluation every ${INTERVAL})\n`,
    );
  }, 240_000);

  it("sends Watchdog, always firing, to the dead man's switch receiver and to it alone", async () => {
    type Hook = { path: string; body: { receiver?: string; alerts?: { labels: Record<string, string> }[] } };
    const watchdog = (h: Hook) => (h.body.alerts ?? []).some((a) => a.labels.alertname === 'Watchdog');
    const hook = await eventually(
      async () => (receivers.hooks as Hook[]).find(watchdog),
      90_000,
      "Watchdog at the dead man's switch",
    );
    expect(hook.body).toMatchObject({ receiver: 'deadmansswitch', status: 'firing' });
    expect((receivers.hooks as Hook[]).filter(watchdog).map((h) => h.body.receiver)).not.toContain('webhook');
  }, 120_000);
});
