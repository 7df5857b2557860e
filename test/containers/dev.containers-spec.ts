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
import { bearer, firstAdmin, newCustomer, type Actor } from '../support/actors';
import { balanceOf, deposit, openAccount, submitKyc, transfer, type Account } from '../support/banking';
import { processes } from '../support/processes';
import { parseMail } from '../support/receivers';
import { eventually, type TestEnv } from '../support/test-env';
import type { Running } from '../support/topologies';
import { builder, ComposeStack } from './compose';

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
    running = {
      kind: 'monolith',
      baseUrl: `http://127.0.0.1:${httpPort}`,
      t: { env: { ADMIN_EMAIL, ADMIN_PASSWORD } } as unknown as TestEnv,
      services: {},
      children: [],
      stop: async () => undefined,
    };
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
    let admin: Actor;
    let alice: Actor;
    let bob: Actor;
    let a: Account;
    let b: Account;
    let transactionId: string;

    it('registers two customers and verifies them (KYC submitted, approved by the first admin)', async () => {
      admin = await firstAdmin(running);
      alice = await newCustomer(running, 'containers.alice');
      bob = await newCustomer(running, 'containers.bob');
      for (const c of [alice, bob]) {
        await submitKyc(running, c);
        await request(running.baseUrl)
          .post(`/admin/kyc/${c.id}/approve`)
          .set(bearer(admin.token))
          .expect(200);
        const me = await request(running.baseUrl).get('/users/me/kyc').set(bearer(c.token));
        expect(me.status).toBe(200);
        expect(me.body.status).toBe('verified');
      }
    });

    it('opens accounts and deposits into one', async () => {
      a = await openAccount(running, alice);
      b = await openAccount(running, bob);
      await deposit(running, admin, a, 100_000);
      expect(await balanceOf(running, alice, a)).toBe(100_000);
    });

    it('transfers between the customers', async () => {
      const res = await transfer(running, alice, {
        from_account_id: a.id,
        to_account_number: b.account_number,
        amount: 2550,
        currency: 'GBP',
        reference: 'Containers',
      }).expect(201);
      transactionId = res.body.id as string;
      expect(await balanceOf(running, alice, a)).toBe(97_450);
      expect(await balanceOf(running, bob, b)).toBe(2550);
    });

    it('tells the payee: in the app, and by e-mail through the Mailpit stand-in', async () => {
      expect(transactionId).toEqual(expect.any(String));
      const inApp = await eventually(
        async () => {
          const res = await request(running.baseUrl).get('/notifications').set(bearer(bob.token)).expect(200);
          const list = res.body.data as { type: string; body: string; data: { transaction_id?: string } }[];
          return list.find((n) => n.data?.transaction_id === transactionId);
        },
        20_000,
        "bob's in-app notification",
      );
      expect(inApp).toMatchObject({ type: 'transaction.received' });
      expect(inApp.body).toContain('£25.50');
      const mail = await eventually(
        async () => {
          const res = await fetch(`${mailUrl}/api/v1/messages`);
          const body = (await res.json()) as { messages: { to: string[]; raw: string }[] };
          return body.messages
            .filter((x) => x.to.includes(bob.email))
            .map((x) => parseMail(Buffer.from(x.raw, 'base64').toString('latin1')))
            .find((m) => m.text.includes('£25.50'));
        },
        30_000,
        "bob's notification e-mail",
      );
      expect(mail.headers.subject).toBe('Money received');
      expect(mail.text).toContain('£25.50');
    });

    it('serves the API docs as HTML at /docs', async () => {
      const res = await request(running.baseUrl).get('/docs').redirects(2).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/swagger-ui/i);
    });

    it('keeps its development keys when the container is re-created (tokens still verify)', async () => {
      const before = stack.state('monolith')!.id;
      stack.compose(['up', '-d', '--no-build', '--force-recreate', '--no-deps', 'monolith'], 300_000);
      expect(stack.state('monolith')!.id).not.toBe(before);
      await stack.waitFor('monolith', (s) => s.health === 'healthy', 'the new monolith healthy', 240_000);
      const me = await request(running.baseUrl).get('/users/me').set(bearer(alice.token));
      expect(me.status).toBe(200);
      expect(me.body.email).toBe(alice.email);
    }, 300_000);
  });
});
