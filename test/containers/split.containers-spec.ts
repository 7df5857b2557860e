/**
 * The production-like stack for real: `docker-compose --compatibility -f docker/docker-compose.split.yml
 * up` (v1 applies deploy.resources only with --compatibility) with the images built here, plus the first
 * admin the way an operator adds one (docker/docker-compose.first-admin.yml, its password from secrets:init). Eight
 * app containers within their memory limits, PgBouncer, RabbitMQ and nginx; a customer's day through
 * nginx's published port; afterwards no container has restarted or been OOM-killed. Then 60 s of transfers
 * through nginx (each container's peak memory printed, none OOM-killed), and, with the load still running,
 * each app crashed in turn and RabbitMQ, Redis and Postgres restarted: it comes back by itself and nothing
 * committed is lost or doubled (the fault table is printed). Everything goes over HTTPS, with a certificate
 * generated for the run; last, the edge itself: TLS, redirects, headers and the default rate limits (edge.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import {
  LOAD_EDGE_LIMITS,
  makeTestCertificate,
  trustCertificate,
  type TestCertificate,
} from '../support/edge-tls';
import { auditTransfers, type Queryable } from '../support/event-audit';
import {
  faultTable,
  secondsToReady,
  settledAudit,
  startTransferLoad,
  type TransferLoad,
} from '../support/fault-load';
import { processes, topology } from '../support/processes';
import type { Running } from '../support/topologies';
import { BACKUP_TEST_ENV, backupService } from './backups';
import { builder, ComposeStack, freshSecrets, secretOf } from './compose';
import { customerDay, runningAt } from './customer-day';
import { edgeChecks } from './edge';
import { monitoringInContainers, servicesWithoutGrafana } from './monitoring';

const ADMIN_EMAIL = 'admin@protobank.test';
const APPS = topology.SERVICE_NAMES;
const LOAD_MS = 60_000;

/**
 * Queries the stack's Postgres with psql inside its container (it publishes no port), for the audit: the
 * parameters are our own ids and arrays of them, written as literals.
 */
function psqlIn(containerId: string): Queryable {
  const literal = (v: unknown): string =>
    Array.isArray(v) ? `'{${v.map(String).join(',')}}'` : `'${String(v).replace(/'/g, "''")}'`;
  return {
    query(text: string, params: unknown[]) {
      const sqlText = text.replace(/\$(\d+)/g, (_, n: string) => literal(params[Number(n) - 1]));
      const out = execFileSync(
        'docker',
        [
          'exec',
          '-i',
          containerId,
          'psql',
          '-U',
          'protobank',
          '-d',
          'protobank',
          '-At',
          '-v',
          'ON_ERROR_STOP=1',
        ],
        {
          input: `SELECT coalesce(json_agg(t), '[]') FROM (${sqlText}) t;`,
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return Promise.resolve({ rows: JSON.parse(out) as unknown[] });
    },
  };
}

describe('docker-compose.split.yml (one container per service) in containers', () => {
  let stack: ComposeStack;
  let running: Running;
  let secretDir: string;
  let removeSecrets: (() => void) | undefined;
  let cert: TestCertificate;
  let httpPort: number;
  let httpsPort: number;
  let untrust: (() => void) | undefined;

  beforeAll(async () => {
    const images = await builder.build({ apps: builder.ALL_APPS, backup: true });
    secretDir = mkdtempSync(path.join(os.tmpdir(), 'pb-split-secret-'));
    // Production refuses the committed *.example secrets: a fresh set, as an operator makes one. The
    // first admin's password is the set's own, as an operator reads it.
    removeSecrets = freshSecrets('containers');
    const ADMIN_PASSWORD = secretOf('admin_password', 'containers');
    // nginx's TLS certificate, self-signed for this run; this process trusts it (supertest verifies).
    cert = makeTestCertificate(secretDir);
    untrust = trustCertificate(cert.cert);
    httpPort = await processes.freePort();
    httpsPort = await processes.freePort();
    stack = new ComposeStack(
      'docker/docker-compose.split.yml',
      'protobank-containers-split',
      {
        ...images,
        PROTOBANK_SECRETS: 'containers',
        PROTOBANK_HTTP_PORT: `127.0.0.1:${httpPort}`,
        PROTOBANK_HTTPS_PORT: `127.0.0.1:${httpsPort}`,
        EDGE_HTTPS_PORT: String(httpsPort),
        // The customer day and the load come from one client IP: explicit limits they never reach (the
        // edge checks at the end recreate nginx with the committed defaults).
        ...LOAD_EDGE_LIMITS,
        PROTOBANK_TEST_TLS_CERT_FILE: cert.certFile,
        PROTOBANK_TEST_TLS_KEY_FILE: cert.keyFile,
        ADMIN_EMAIL,
        ...BACKUP_TEST_ENV,
      },
      [
        '-f',
        'docker/docker-compose.first-admin.yml',
        '-f',
        'test/containers/split.tls.yml',
        '--compatibility',
      ],
    );
    running = runningAt(`https://127.0.0.1:${httpsPort}`, { ADMIN_EMAIL, ADMIN_PASSWORD });
    stack.up(servicesWithoutGrafana(stack)); // no Grafana image here: see ./monitoring.ts
  }, 1_800_000);

  afterAll(() => {
    untrust?.();
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
    try {
      if (stack) {
        const logFile = stack.down();
        process.stdout.write(`[containers] split stack removed (down -v); its logs: ${logFile}\n`);
      }
    } finally {
      removeSecrets?.();
    }
  }, 180_000);

  it('completes the migrate one-shot (exit 0)', async () => {
    await stack.waitFor('migrate', (s) => s.status === 'exited', 'migrate to exit');
    expect(stack.state('migrate')).toMatchObject({ status: 'exited', exitCode: 0 });
  });

  it('makes every app, then nginx, healthy', async () => {
    for (const app of APPS)
      await stack.waitFor(app, (s) => s.health === 'healthy', `${app} healthy`, 240_000);
    await stack.waitFor('nginx', (s) => s.health === 'healthy', 'nginx healthy', 120_000);
    await request(running.baseUrl).get('/health/live').expect(200);
  }, 600_000);

  describe('monitoring', () => {
    monitoringInContainers(() => stack, APPS);
  });

  it('applies the memory limits (--compatibility) and publishes nginx alone (HTTP and HTTPS), on 127.0.0.1', () => {
    for (const app of APPS) {
      const limit = Number(
        execFileSync('docker', ['inspect', '-f', '{{.HostConfig.Memory}}', stack.state(app)!.id], {
          encoding: 'utf8',
        }),
      );
      expect({ app, limit }).toEqual({
        app,
        limit: parseInt(topology.SERVICES[app].memory, 10) * 1024 * 1024,
      });
    }
    const ports = JSON.parse(
      execFileSync('docker', ['inspect', '-f', '{{json .NetworkSettings.Ports}}', stack.state('nginx')!.id], {
        encoding: 'utf8',
      }),
    ) as Record<string, { HostIp: string }[] | null>;
    const bindings = Object.values(ports).flatMap((b) => b ?? []);
    expect(bindings.map((b) => b.HostIp)).toEqual(['127.0.0.1', '127.0.0.1']);
    const published = Object.entries(ports)
      .filter(([, b]) => b?.length)
      .map(([p]) => p);
    expect(published.sort()).toEqual(['443/tcp', '80/tcp']);
  });

  it('answers /health/ready at nginx over every service, and /docs-json with every service’s routes', async () => {
    const ready = await request(running.baseUrl).get('/health/ready').expect(200);
    expect(Object.keys(ready.body.services as object).sort()).toEqual([...APPS].sort());
    const docs = await request(running.baseUrl).get('/docs-json').expect(200);
    const owners = new Set(
      Object.keys(docs.body.paths as object)
        .filter((p) => !/^\/(health|docs|metrics)(\/|$)/.test(p))
        .map((p) =>
          APPS.find((app) => topology.SERVICES[app].prefixes.some((x) => p === x || p.startsWith(`${x}/`))),
        ),
    );
    expect([...owners].sort()).toEqual([...APPS].sort());
    const html = await request(running.baseUrl).get('/docs').redirects(1).expect(200);
    expect(html.text).toContain('swagger-ui');
  });

  describe('a customer day through nginx', () => {
    customerDay(() => running);
  });

  describe('the backup service', () => {
    backupService(() => stack);
  });

  // A describe of its own, so that it runs after the customer day.
  describe('afterwards', () => {
    it('has restarted or OOM-killed no container, and reports each app container’s memory peak', () => {
      const peaks: string[] = [];
      for (const service of [...APPS, 'nginx', 'pgbouncer', 'postgres', 'redis', 'rabbitmq']) {
        const s = stack.state(service)!;
        const oom = execFileSync('docker', ['inspect', '-f', '{{.State.OOMKilled}}', s.id], {
          encoding: 'utf8',
        });
        expect({ service, restarts: s.restarts, oom: oom.trim() }).toEqual({
          service,
          restarts: 0,
          oom: 'false',
        });
        const peak = execFileSync(
          'docker',
          ['exec', s.id, 'cat', '/sys/fs/cgroup/memory/memory.max_usage_in_bytes'],
          { encoding: 'utf8' },
        );
        peaks.push(`${service} ${Math.round(Number(peak) / 1048576)} MiB`);
      }
      process.stdout.write(`[containers] memory peaks: ${peaks.join(', ')}\n`);
    });
  });

  // After the customer's day and its check: 60 s of transfers, then the faults, on the same stack.
  describe('under load through nginx, then faults', () => {
    let load: TransferLoad;
    let admin: Actor;
    const sql = () => psqlIn(stack.state('postgres')!.id);
    beforeAll(async () => {
      admin = await firstAdmin(running);
      load = await startTransferLoad(running, admin, 6, 'containers');
    }, 300_000);
    afterAll(async () => {
      await load?.stop();
    });

    it('carries 60 s of transfers with no container OOM-killed or restarted, and prints each one’s peak memory', async () => {
      await new Promise((r) => setTimeout(r, LOAD_MS));
      const rows: string[] = [];
      for (const service of [...APPS, 'nginx', 'pgbouncer', 'postgres', 'redis', 'rabbitmq']) {
        const s = stack.state(service)!;
        const [oom, limit] = execFileSync(
          'docker',
          ['inspect', '-f', '{{.State.OOMKilled}} {{.HostConfig.Memory}}', s.id],
          {
            encoding: 'utf8',
          },
        )
          .trim()
          .split(' ');
        expect({ service, restarts: s.restarts, oom }).toEqual({ service, restarts: 0, oom: 'false' });
        const peak = Number(
          execFileSync('docker', ['exec', s.id, 'cat', '/sys/fs/cgroup/memory/memory.max_usage_in_bytes'], {
            encoding: 'utf8',
          }),
        );
        rows.push(
          `  ${service.padEnd(14)} ${String(Math.round(peak / 1048576)).padStart(5)} MiB of ${Math.round(Number(limit) / 1048576)} MiB`,
        );
      }
      const transfers = load.windows[0].ok;
      process.stdout.write(
        `[containers] peak memory since start, after ${LOAD_MS / 1000} s of transfers through nginx (${transfers} answered 201, ${load.windows[0].failed} 5xx):\n${rows.join('\n')}\n`,
      );
      expect(load.windows[0].failed).toBe(0);
    }, 180_000);

    it('comes back by itself after each app container is killed and RabbitMQ, Redis and Postgres restart, losing nothing', async () => {
      // An app crashes: its process is SIGKILLed from the host, and the restart policy (unless-stopped)
      // starts the container again. (`docker kill` would not do: Docker counts it as a manual stop and
      // never restarts the container.) The infrastructure is restarted by hand, one after the other.
      const crash = (app: string) => () => {
        const pid = Number(
          execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', stack.state(app)!.id], {
            encoding: 'utf8',
          }),
        );
        process.kill(pid, 'SIGKILL');
      };
      const restart = (infra: string) => () =>
        execFileSync('docker', ['restart', '-t', '10', stack.state(infra)!.id], {
          stdio: 'ignore',
          timeout: 60_000,
        });
      const faults: [string, () => void][] = [
        ...APPS.map((app): [string, () => void] => [`kill -9 ${app} (restarted)`, crash(app)]),
        ...['rabbitmq', 'redis', 'postgres'].map((infra): [string, () => void] => [
          `restart ${infra}`,
          restart(infra),
        ]),
      ];
      for (const [fault, inject] of faults) {
        const window = load.next(fault);
        const started = Date.now();
        inject();
        window.readySeconds = await secondsToReady(running.baseUrl, started, `ready after ${fault}`);
        await new Promise((r) => setTimeout(r, 1500));
      }
      await load.stop();

      const audit = await settledAudit(() => auditTransfers(sql(), load.payerAccounts));
      process.stdout.write(
        faultTable('[containers] faults under load (split stack, through nginx)', load, audit),
      );
      const stored = (await sql().query(
        'SELECT count(*)::int AS n FROM transactions.entries WHERE id = ANY($1::uuid[])',
        [[...load.committed]],
      )) as { rows: { n: number }[] };
      expect(stored.rows[0].n).toBe(load.committed.size);
      expect(audit.lost).toEqual([]);
      expect(audit.doubled).toEqual([]);
      const verify = await request(running.baseUrl)
        .get('/admin/ledger/verify')
        .set(bearer(admin.token))
        .expect(200);
      expect(verify.body).toMatchObject({ ok: true, mismatches: [] });
      const queues = execFileSync(
        'docker',
        ['exec', stack.state('rabbitmq')!.id, 'rabbitmqctl', 'list_queues', '-q', 'name', 'messages'],
        {
          encoding: 'utf8',
        },
      );
      const dead = queues
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter(([name]) => name?.includes('dead.events'));
      expect(dead.length).toBeGreaterThan(0);
      expect(dead.filter(([, n]) => n !== '0')).toEqual([]);
    }, 1_200_000);
  });

  // Last: it recreates nginx with the committed default limits, which the load above would exceed.
  describe('the edge: TLS, redirects, security headers and the default rate limits', () => {
    edgeChecks(() => ({ stack, running, cert, httpUrl: `http://127.0.0.1:${httpPort}`, httpsPort }));
  });
});
