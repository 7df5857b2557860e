import { setTimeout as sleep } from 'node:timers/promises';
import { RESET_MAIL_ATTEMPTS, RESET_MAILS_HELD, ResetMails } from './reset-mails';

jest.mock('node:timers/promises', () => ({ setTimeout: jest.fn(async () => undefined) }));

const ALICE = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90';

/** A mailer over fakes: one account (alice@example.com), and a relay answering with `relay` in turn. */
function mailer(
  opts: { relay?: (Error | undefined)[]; disabled?: boolean; role?: string; unverified?: boolean } = {},
) {
  const sent: { to: unknown; text: string }[] = [];
  const issued: string[] = [];
  const lines: { level: string; fields: Record<string, unknown> }[] = [];
  const relay = [...(opts.relay ?? [])];
  // The relay: `hold` keeps every send waiting until it is resolved (a slow relay).
  const gate = { hold: Promise.resolve() };
  const smtp = {
    send: async (mail: { to: unknown; text: string }) => {
      await gate.hold;
      const failure = relay.shift();
      if (failure) throw failure;
      sent.push(mail);
    },
  };
  const dataSource = {
    query: async (_sql: string, [email]: string[]) =>
      email === 'alice@example.com'
        ? [
            {
              user_id: ALICE,
              email: 'alice@example.com',
              password_hash: '$argon2id$v=19$…',
              email_verified_at: opts.unverified ? null : new Date('2026-12-01T00:00:00Z'),
            },
          ]
        : [],
  };
  const users = {
    getProfile: async () => ({
      full_name: 'Alice Jones',
      email: 'alice@example.com',
      disabled: !!opts.disabled,
      role: opts.role ?? 'customer',
    }),
  };
  const withdrawn: string[] = [];
  const tokens = {
    issue: async (userId: string, _hash: string, generation: string) => {
      const token = `${userId}.${String(issued.length).padStart(43, 'x')}`;
      issued.push(`${token} ${generation}`);
      return token;
    },
    withdraw: async (token: string) => {
      withdrawn.push(token);
    },
  };
  const sessions = { generation: async () => '7' };
  const log = (level: string) => (fields: Record<string, unknown>) => lines.push({ level, fields });
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  const config = { smtp: { host: 'smtp.example', from: 'Protobank <no-reply@protobank.example>' } };
  const mails = new ResetMails(
    dataSource as never,
    users as never,
    tokens as never,
    sessions as never,
    smtp as never,
    config as never,
    logger as never,
  );
  return { mails, sent, issued, withdrawn, lines, gate };
}

const smtpError = (responseCode: number | undefined, code: string) =>
  Object.assign(new Error(`550 5.1.1 <alice@example.com>: no such user (${code})`), { responseCode, code });

beforeEach(() => jest.clearAllMocks());

describe('ResetMails', () => {
  it("e-mails a customer's verified address its token, and nothing to an address with no account, an unverified one, a disabled account's or a staff member's", async () => {
    const { mails, sent, issued } = mailer();
    mails.post('alice@example.com');
    mails.post('nobody@example.com');
    await mails.idle();
    expect(issued).toHaveLength(1);
    expect(sent).toEqual([
      expect.objectContaining({ to: { name: 'Alice Jones', address: 'alice@example.com' } }),
    ]);
    // Bound to the session generation read before the account was checked.
    expect(issued[0]).toMatch(/ 7$/);
    expect(sent[0].text).toContain(issued[0].split(' ')[0]);

    for (const [account, event] of [
      [{ unverified: true }, 'password_reset_unverified'],
      [{ disabled: true }, 'password_reset_disabled'],
      [{ role: 'staff' }, 'password_reset_staff'],
      [{ role: 'admin' }, 'password_reset_staff'],
    ] as const) {
      const off = mailer(account);
      off.mails.post('alice@example.com');
      await off.mails.idle();
      expect(off.sent).toEqual([]);
      expect(off.issued).toEqual([]);
      expect(off.lines.map((l) => l.fields.security_event)).toEqual([event]);
    }
    // Had sent by a staff member (who identified the customer): an unverified address is sent its token.
    const asked = mailer({ unverified: true });
    asked.mails.post('alice@example.com', { userId: 'staff-1', generation: '2' });
    await asked.mails.idle();
    expect(asked.sent).toHaveLength(1);
  });

  it('tries again after a passing failure, 2 then 4 s later, with the same token', async () => {
    const timeout = smtpError(undefined, 'ETIMEDOUT');
    const { mails, sent, issued, withdrawn, lines } = mailer({
      relay: [timeout, smtpError(421, 'EENVELOPE')],
    });
    mails.post('alice@example.com');
    await mails.idle();
    expect((sleep as unknown as jest.Mock).mock.calls.map((c) => c[0])).toEqual([2000, 4000]);
    expect(issued).toHaveLength(1);
    expect(sent).toHaveLength(1);
    expect(sent[0].text).toContain(issued[0].split(' ')[0]);
    expect(withdrawn).toEqual([]);
    expect(lines.filter((l) => l.fields.security_event === 'password_reset_retry')).toHaveLength(2);
  });

  it("gives up at once on a 5xx, and after RESET_MAIL_ATTEMPTS tries otherwise, withdrawing the token and logging the relay's codes only", async () => {
    const refused = mailer({ relay: [smtpError(550, 'EENVELOPE')] });
    refused.mails.post('alice@example.com');
    await refused.mails.idle();
    // Refused for good: its own event (not the alerted one), and the token it carried withdrawn.
    expect(refused.withdrawn).toEqual([refused.issued[0].split(' ')[0]]);
    const failed = refused.lines.filter((l) => l.fields.security_event === 'password_reset_refused');
    expect(failed).toEqual([
      { level: 'error', fields: expect.objectContaining({ smtp: 'smtp 550 EENVELOPE', attempt: 1 }) },
    ]);
    expect(JSON.stringify(refused.lines)).not.toContain('alice@example.com');

    const down = mailer({ relay: Array(RESET_MAIL_ATTEMPTS).fill(smtpError(undefined, 'ECONNECTION')) });
    down.mails.post('alice@example.com');
    await down.mails.idle();
    expect(down.sent).toEqual([]);
    expect(down.issued).toHaveLength(1);
    expect(down.withdrawn).toHaveLength(1);
    expect(down.lines.filter((l) => l.fields.security_event === 'password_reset_not_sent')).toHaveLength(1);
  });

  it('drops, logged as not sent, an e-mail past RESET_MAILS_HELD held or once shutdown began, and never throws', async () => {
    const { mails, lines, gate } = mailer();
    let release!: () => void;
    gate.hold = new Promise((resolve) => (release = resolve));
    for (let i = 0; i < RESET_MAILS_HELD; i++) mails.post('alice@example.com');
    expect(() => mails.post('alice@example.com')).not.toThrow();
    const dropped = () => lines.filter((l) => l.fields.reason === 'too_many_held');
    expect(dropped()).toHaveLength(1);
    release();
    await mails.idle();
    await mails.beforeApplicationShutdown();
    mails.post('alice@example.com');
    expect(lines.filter((l) => l.fields.security_event === 'password_reset_abandoned')).toHaveLength(1);
  });
});
