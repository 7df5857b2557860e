import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { PermanentDeliveryError } from './channel';
import { NotificationsConfig } from '../../notifications.config';

const TIMEOUT_MS = 5000;

/**
 * POSTs JSON to a provider's webhook. Each request carries `Idempotency-Key` (the delivery id, so a
 * provider can drop a repeat) and, with WEBHOOK_SIGNING_SECRET, `X-Protobank-Signature: t=<unix>,
 * sha256=<hex HMAC of "t.body">` so the receiver can tell it came from us and is recent. 2xx is delivered;
 * 408, 429 and 5xx (and no answer) are retried; any other status is a permanent refusal. Redirects are
 * not followed: a 307 would re-send the signed body (phone number and text) wherever the provider, or
 * whoever answers for it, points, internal addresses included; a redirect is a refusal like any 3xx.
 */
@Injectable()
export class WebhookClient {
  constructor(private readonly config: NotificationsConfig) {}

  async post(url: string, deliveryId: string, payload: object): Promise<void> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': deliveryId,
      'user-agent': 'Protobank-Notifications/1',
    };
    const secret = this.config.webhookSigningSecret;
    if (secret) {
      const t = Math.floor(Date.now() / 1000);
      const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      headers['x-protobank-signature'] = `t=${t},sha256=${mac}`;
    }
    let status: number;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      // The URL may hold a provider token: name the failure, never the address.
      throw new Error(`webhook unreachable: ${(err as Error).name}`);
    }
    if (status >= 200 && status < 300) return;
    const message = `webhook answered ${status}`;
    if (status === 408 || status === 429 || status >= 500) throw new Error(message);
    throw new PermanentDeliveryError(message, status);
  }
}
