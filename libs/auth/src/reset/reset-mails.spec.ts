import { smtpTransport } from '@protobank/platform/mail';
import { setTimeout as sleep } from 'node:timers/promises';
import { RESET_MAIL_ATTEMPTS, RESET_MAILS_HELD, ResetMails } from './reset-mails';

jest.mock('@protobank/platform/mail', () => ({
  ...jest.requireActual('@protobank/platform/mail'),
  smtpTransport: jest.fn(),
}));
jest.mock('node:timers/promises', () => ({ setTimeout: jest.fn(async () => undefined) }));

const ALICE = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90';

/** A mailer over fakes: one account (alice@example.com), and a relay answering with `relay` in turn. */
function mailer(opts: { relay?: (Error | undefined)[]; disabled?: boolean; role?: string } = {}) {
  const sent: { to: unknown; text: string }[] = [];
  const issued: string[] = [];
  const lines: { level: string; fields: Record<string, unknown> }[] = [];
  const relay = [...(opts.relay ?? [])];
  (smtpTransport as jest.Mock).mockResolvedValue({
    sendMail: async (mail: { to: unknown; text: string }) => {
      const failure = relay.shift();
      if (failure) throw failure;
      sent.push(mail);
    },
    close: () => undefined,
  });
  const dataSource = {
    query: async (_sql: string, [email]: string[]) =>
      email === 'alice@example.com' ? [{ user_id: ALICE, password_hash: '$argon2id$v=19$…' }] : [],
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
    config as never,
    logger as never,
  );
  return { mails, sent, issued, withdrawn, lines };
}

const smtpError = (responseCode: number | undefined, code: string) =>
  Object.assign(new Error(`550 5.1.1 <alice@example.com>: no such user (${code})`), { responseCode, code });

beforeEach(() => jest.clearAllMocks());

describe('ResetMails', () => {
  it("e-mails a customer's address its token, and nothing to an address with no account, a disabled account's or a staff member's", async () => {
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

    for (const account of [{ disabled: true }, { role: 'staff' }, { role: 'admin' }]) {
      const off = mailer(account);
      off.mails.post('alice@example.com');
      await off.mails.idle();
      expect(off.sent).toEqual([]);
      expect(off.issued).toEqual([]);
    }
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
    const { mails, lines } = mailer();
    let release!: () => void;
    (smtpTransport as jest.Mock).mockReturnValue(
      new Promise((resolve) => {
        release = () => resolve({ sendMail: async () => undefined, close: () => undefined });
      }),
    );
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
