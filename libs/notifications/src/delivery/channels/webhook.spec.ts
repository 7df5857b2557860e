import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '@protobank/platform';
import { PermanentDeliveryError } from './channel';
import { WebhookClient } from './webhook';

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

  const client = (secret?: string) => new WebhookClient({ webhookSigningSecret: secret } as AppConfig);

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
    await expect(client().post(url, 'd', {})).rejects.toBeInstanceOf(PermanentDeliveryError);
  });

  it('retries when nothing answers, and never names the URL (it may hold a token)', async () => {
    const err = (await client()
      .post('http://127.0.0.1:1/hook?token=provider-secret', 'd', {})
      .catch((e: unknown) => e)) as Error;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).not.toContain('provider-secret');
  });
});
