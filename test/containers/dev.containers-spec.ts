/**
 * The dev stack for real: `docker-compose -f docker/docker-compose.yml up` with the images built here
 * (stand-ins for the official ones, see test/containers/build.js). The migrate one-shot completes, the
 * monolith becomes healthy, and a customer's day goes through the published port: register, KYC, open
 * accounts, deposit, transfer, the notification (in the app and as an e-mail in the Mailpit stand-in),
 * and /docs. Then the monolith container is re-created, as `up --build` does after a code change, and
 * the tokens signed before still verify: its development keys live in a volume.
 * Run with `npm run test:containers`; the stack is removed (`down -v`) afterwards, also on failure.
 */
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { bearer } from '../support/actors';
import { processes } from '../support/processes';
import type { Running } from '../support/topologies';
import { builder, ComposeStack } from './compose';
import { customerDay, runningAt } from './customer-day';

const ADMIN_EMAIL = 'admin@protobank.local';
const ADMIN_PASSWORD = 'Containers-Test-Admin-1';

describe('docker-compose.yml (dev stack) in containers', () => {
  let stack: ComposeStack;
  let running: Running;
  let mailUrl: string;
  let images: Record<string, string>;

  beforeAll(async () => {
    images = await builder.build({ apps: ['migrate', 'monolith'] });
    const [httpPort, mailPort] = [await processes.freePort(), await processes.freePort()];
    stack = new ComposeStack('docker/docker-compose.yml', 'protobank-containers-dev', {
      ...images,
      PROTOBANK_HTTP_PORT: `127.0.0.1:${httpPort}`,
      PROTOBANK_MAIL_UI_PORT: `127.0.0.1:${mailPort}`,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
    });
    running = runningAt(`http://127.0.0.1:${httpPort}`, { ADMIN_EMAIL, ADMIN_PASSWORD });
    mailUrl = `http://127.0.0.1:${mailPort}`;
    stack.up();
  }, 1_200_000);

  afterAll(() => {
    if (!stack) return;
    const logFile = stack.down();
    process.stdout.write(`[containers] dev stack removed (down -v); its logs: ${logFile}\n`);
  }, 120_000);

  it('publishes its ports on 127.0.0.1 only', () => {
    for (const service of ['monolith', 'mailpit']) {
      const id = stack.state(service)!.id;
      const ports = JSON.parse(
        execFileSync('docker', ['inspect', '-f', '{{json .NetworkSettings.Ports}}', id], {
          encoding: 'utf8',
        }),
      ) as Record<string, { HostIp: string }[] | null>;
      const bindings = Object.values(ports).flatMap((b) => b ?? []);
      expect(bindings.length).toBeGreaterThan(0);
      expect(bindings.map((b) => b.HostIp)).toEqual(bindings.map(() => '127.0.0.1'));
    }
  });

  it('runs the app image as node, with /app/.data the only place it can write', () => {
    const out = execFileSync(
      'docker',
      [
        'run',
        '--rm',
        '--entrypoint',
        'bash',
        `protobank/monolith:${images.PROTOBANK_TAG}`,
        '-c',
        'id -un; test -w /app/.data && echo data-writable; test -w /app/dist || echo code-read-only',
      ],
      { encoding: 'utf8' },
    );
    expect(out.split('\n').filter(Boolean)).toEqual(['node', 'data-writable', 'code-read-only']);
  });

  it('completes the migrate one-shot (exit 0)', async () => {
    await stack.waitFor('migrate', (s) => s.status === 'exited', 'migrate to exit');
    expect(stack.state('migrate')).toMatchObject({ status: 'exited', exitCode: 0 });
  });

  it('makes the monolith healthy (its compose healthcheck: /health/ready)', async () => {
    await stack.waitFor('monolith', (s) => s.health === 'healthy', 'monolith healthy', 240_000);
    const ready = await request(running.baseUrl).get('/health/ready');
    expect(ready.status).toBe(200);
  }, 300_000);

  describe('a customer day through the published port', () => {
    const day = customerDay(() => running, { mailUrl: () => mailUrl });

    it('keeps its development keys when the container is re-created (tokens still verify)', async () => {
      const before = stack.state('monolith')!.id;
      stack.compose(['up', '-d', '--no-build', '--force-recreate', '--no-deps', 'monolith'], 300_000);
      expect(stack.state('monolith')!.id).not.toBe(before);
      await stack.waitFor('monolith', (s) => s.health === 'healthy', 'the new monolith healthy', 240_000);
      const me = await request(running.baseUrl).get('/users/me').set(bearer(day.alice.token));
      expect(me.status).toBe(200);
      expect(me.body.email).toBe(day.alice.email);
    }, 300_000);
  });
});
