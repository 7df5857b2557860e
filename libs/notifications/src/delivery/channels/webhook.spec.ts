import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentDeliveryError } from './channel';
import { WebhookClient } from './webhook';
import type { NotificationsConfig } from '../../notifications.config';

describe('WebhookClient', () => {
  let server: Server;
  let url: string;
  let status = 200;
  let received: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=provider-secret`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    received = [];
    status = 200;
  });

  const client = (secret?: string) =>
    new WebhookClient({ webhookSigningSecret: secret } as NotificationsConfig);

  it('posts the JSON with the delivery id as Idempotency-Key and an HMAC over timestamp and body', async () => {
    await client('s3cret').post(url, 'delivery-1', { to: '+447700900123', text: '£25.50' });
    const [{ headers, body }] = received;
    expect(JSON.parse(body)).toEqual({ to: '+447700900123', text: '£25.50' });
    expect(headers['idempotency-key']).toBe('delivery-1');
    const [t, mac] = String(headers['x-protobank-signature']).split(',');
    expect(mac).toBe(
      `sha256=${createHmac('sha256', 's3cret')
        .update(`${t.slice(2)}.${body}`)
        .digest('hex')}`,
    );
  });

  it('sends no signature without a secret', async () => {
    await client().post(url, 'delivery-2', {});
    expect(received[0].headers['x-protobank-signature']).toBeUndefined();
  });

  it.each([500, 503, 429, 408])('retries on %d (a plain error)', async (code) => {
    status = code;
    const err = await client()
      .post(url, 'd', {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
  });

  it.each([400, 404, 410, 422])('gives up on %d (a permanent refusal)', async (code) => {
    status = code;
    const err = await client()
      .post(url, 'd', {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err).toMatchObject({ status: code });
  });

  it.each([301, 302, 307, 308])('follows no redirect (%d): nothing reaches its target', async (code) => {
    let reached = 0;
    const target = createServer((_req, res) => {
      reached++;
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const location = `http://127.0.0.1:${(target.address() as AddressInfo).port}/internal`;
    const redirecting = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(code, { location }).end());
    });
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
    try {
      const err = await client('s3cret')
        .post(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`, 'd', { to: '+44' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentDeliveryError);
      expect((err as Error).message).toBe(`webhook answered ${code}`);
      expect(reached).toBe(0);
    } finally {
      await Promise.all([target, redirecting].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('retries when nothing answers, and never names the URL (it may hold a token)', async () => {
    const err = (await client()
      .post('http://127.0.0.1:1/hook?token=provider-secret', 'd', {})
      .catch((e: unknown) => e)) as Error;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).not.toContain('provider-secret');
  });
});
