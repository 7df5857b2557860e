import type { PhoneVerification } from '../../phone/phone-verification.service';
import type { Category } from '../../preferences/preference-rules';
import type { Outgoing } from './channel';
import { SmsChannel } from './provider.channels';
import type { SmsProvider } from './providers';

/** SmsChannel over a fake provider and a fake record of verified numbers. */
function setup(verified: Record<string, string>) {
  const sent: { to: string; text: string }[] = [];
  const provider: SmsProvider = {
    configured: true,
    send: (m) => {
      sent.push({ to: m.to, text: m.text });
      return Promise.resolve();
    },
  };
  const phones = {
    verifiedNumber: (userId: string) => Promise.resolve(verified[userId] ?? null),
  } as unknown as PhoneVerification;
  return { channel: new SmsChannel(provider, phones), sent };
}

const outgoing = (phone: string | null, category: Category = 'transactions'): Outgoing => ({
  delivery_id: 'delivery-1',
  user_id: 'user-1',
  notification: {
    id: 'notification-1',
    category,
    type: 'transaction.received',
    title: 'Money received',
    body: 'You received £1.00 from Alice Jones',
    data: {},
    created_at: '2026-12-05T01:00:00.000Z',
    read_at: null,
  },
  contact: { user_id: 'user-1', full_name: 'Bob Smith', email: 'bob@example.com', phone, disabled: false },
});

describe('SmsChannel', () => {
  it('texts the profile number when it is the verified one', async () => {
    const { channel, sent } = setup({ 'user-1': '+447700900123' });
    await expect(channel.send(outgoing('+447700900123'))).resolves.toEqual({ status: 'sent' });
    expect(sent).toEqual([{ to: '+447700900123', text: 'You received £1.00 from Alice Jones' }]);
  });

  it('texts nothing to a number not verified, nor to another than the verified one', async () => {
    const { channel, sent } = setup({ 'user-1': '+447700900123' });
    await expect(channel.send(outgoing('+447700900999'))).resolves.toEqual({
      status: 'skipped',
      reason: 'phone number not verified',
    });
    const none = setup({});
    await expect(none.channel.send(outgoing('+447700900123'))).resolves.toMatchObject({ status: 'skipped' });
    expect([...sent, ...none.sent]).toEqual([]);
  });

  it('texts a security notice to the number last verified when the profile has another or none, and nothing else', async () => {
    const { channel, sent } = setup({ 'user-1': '+447700900123' });
    for (const now of ['+447700900999', null]) {
      await expect(channel.send(outgoing(now, 'security'))).resolves.toEqual({ status: 'sent' });
      await expect(channel.send(outgoing(now))).resolves.toMatchObject({ status: 'skipped' });
    }
    expect(sent.map((m) => m.to)).toEqual(['+447700900123', '+447700900123']);
    const none = setup({});
    await expect(none.channel.send(outgoing('+447700900999', 'security'))).resolves.toEqual({
      status: 'skipped',
      reason: 'phone number not verified',
    });
    await expect(channel.send({ ...outgoing(null, 'security'), contact: undefined })).resolves.toEqual({
      status: 'skipped',
      reason: 'no such user',
    });
    expect(none.sent).toEqual([]);
  });

  it('texts nothing without a number', async () => {
    const { channel, sent } = setup({ 'user-1': '+447700900123' });
    await expect(channel.send(outgoing(null))).resolves.toEqual({
      status: 'skipped',
      reason: 'no phone number on the profile',
    });
    expect(sent).toEqual([]);
  });
});
