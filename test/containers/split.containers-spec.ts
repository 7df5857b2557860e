/**
 * The production-like stack for real: `docker-compose --compatibility -f docker/docker-compose.split.yml
 * up` (v1 applies deploy.resources only with --compatibility) with the images built here, plus the first
 * admin the way the file's comment on auth says to add one (test/containers/split.first-admin.yml). Eight
 * app containers within their memory limits, PgBouncer, RabbitMQ and nginx; a customer's day through
 * nginx's published port; afterwards no container has restarted or been OOM-killed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { processes, topology } from '../support/processes';
import type { Running } from '../support/topologies';
import { builder, ComposeStack } from './compose';
import { customerDay, runningAt } from './customer-day';

const ADMIN_EMAIL = 'admin@protobank.test';
const ADMIN_PASSWORD = 'Containers-Test-Root-7x';
const APPS = topology.SERVICE_NAMES;

describe('docker-compose.split.yml (one container per service) in containers', () => {
  let stack: ComposeStack;
  let running: Running;
  let secretDir: string;

  beforeAll(async () => {
    const images = await builder.build({ apps: builder.ALL_APPS });
    secretDir = mkdtempSync(path.join(os.tmpdir(), 'pb-split-secret-'));
    const passwordFile = path.join(secretDir, 'admin_password');
    writeFileSync(passwordFile, `${ADMIN_PASSWORD}\n`, { mode: 0o644 });
    const port = await processes.freePort();
    stack = new ComposeStack(
      'docker/docker-compose.split.yml',
      'protobank-containers-split',
      {
        ...images,
        PROTOBANK_HTTP_PORT: `127.0.0.1:${port}`,
        PROTOBANK_TEST_ADMIN_EMAIL: ADMIN_EMAIL,
        PROTOBANK_TEST_ADMIN_PASSWORD_FILE: passwordFile,
      },
      ['-f', 'test/containers/split.first-admin.yml', '--compatibility'],
    );
    running = runningAt(`http://127.0.0.1:${port}`, { ADMIN_EMAIL, ADMIN_PASSWORD });
    stack.up();
  }, 1_800_000);

  afterAll(() => {
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
    if (!stack) return;
    const logFile = stack.down();
    process.stdout.write(`[containers] split stack removed (down -v); its logs: ${logFile}\n`);
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

  it('applies the memory limits (--compatibility) and publishes nginx alone, on 127.0.0.1', () => {
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
    expect(bindings.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
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
});
