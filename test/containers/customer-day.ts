/**
 * A customer's day through a stack's published port, shared by the container specs: register (the payee
 * verifying their e-mail address when the stack has a mailbox), KYC (approved by the first admin),
 * accounts, a deposit, a transfer, the payee's notification (in the app, and by e-mail when the stack has
 * a mailbox) and /docs. Declares its own `it`s; returns the actors.
 */
import request from 'supertest';
import { asReviewed, bearer, firstAdmin, newCustomer, type Actor } from '../support/actors';
import { balanceOf, deposit, openAccount, submitKyc, transfer, type Account } from '../support/banking';
import { codeInMail, EMAIL_CODE_SUBJECT } from '../support/email';
import { parseMail } from '../support/receivers';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

export interface Day {
  admin: Actor;
  alice: Actor;
  bob: Actor;
}

/** The mails the Mailpit stand-in at `mailUrl` holds for `to`, parsed. */
async function mailpitMails(mailUrl: string, to: string) {
  const res = await fetch(`${mailUrl}/api/v1/messages`);
  const body = (await res.json()) as { messages: { to: string[]; raw: string }[] };
  return body.messages
    .filter((x) => x.to.includes(to))
    .map((x) => parseMail(Buffer.from(x.raw, 'base64').toString('latin1')));
}

export function customerDay(get: () => Running, opts: { mailUrl?: () => string } = {}): Day {
  const day = {} as Day;
  let a: Account;
  let b: Account;
  let transactionId: string;

  /**
   * Verifies `who`'s address with the code e-mailed through the stack's mailbox: only a verified address
   * gets notices by e-mail other than security ones. Done at registration, seconds before the transfer:
   * the in-process relay tells notifications within milliseconds.
   */
  const verifyEmail = async (mailUrl: string, who: Actor) => {
    await request(get().baseUrl).post('/auth/email/verification').set(bearer(who.token)).expect(202);
    const code = await eventually(
      async () =>
        (await mailpitMails(mailUrl, who.email))
          .filter((m) => m.headers.subject === EMAIL_CODE_SUBJECT)
          .map((m) => codeInMail(m.text))[0],
      30_000,
      `${who.email}'s e-mailed code`,
    );
    const res = await request(get().baseUrl)
      .post('/auth/email/verification/confirm')
      .set(bearer(who.token))
      .send({ code })
      .expect(200);
    expect(res.body.verified).toBe(true);
  };

  it(`registers two customers and verifies them (KYC submitted, approved by the first admin)${
    opts.mailUrl ? ", the payee's e-mail address too" : ''
  }`, async () => {
    day.admin = await firstAdmin(get());
    day.alice = await newCustomer(get(), 'containers.alice');
    day.bob = await newCustomer(get(), 'containers.bob');
    if (opts.mailUrl) await verifyEmail(opts.mailUrl(), day.bob);
    for (const c of [day.alice, day.bob]) {
      await submitKyc(get(), c);
      await request(get().baseUrl)
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(day.admin.token))
        .send(await asReviewed(request(get().baseUrl), day.admin.token, c.id))
        .expect(200);
      const kyc = await eventually(
        async () => {
          const res = await request(get().baseUrl).get('/users/me/kyc').set(bearer(c.token)).expect(200);
          return res.body.status === 'verified' ? res.body : undefined;
        },
        15_000,
        `${c.email}'s KYC verified`,
      );
      expect(kyc.status).toBe('verified');
    }
  });

  it('opens accounts and deposits into one', async () => {
    // In split, accounts learns of the verification by an event: retry until it lets the customer open one.
    const open = (c: Actor) =>
      eventually(
        async () => {
          try {
            return await openAccount(get(), c);
          } catch {
            return undefined;
          }
        },
        15_000,
        `an account for ${c.email}`,
      );
    a = await open(day.alice);
    b = await open(day.bob);
    await deposit(get(), day.admin, a, 100_000);
    expect(await balanceOf(get(), day.alice, a)).toBe(100_000);
  });

  it('transfers between the customers', async () => {
    const res = await transfer(get(), day.alice, {
      from_account_id: a.id,
      to_account_number: b.account_number,
      amount: 2550,
      currency: 'GBP',
      reference: 'Containers',
    }).expect(201);
    transactionId = res.body.id as string;
    expect(await balanceOf(get(), day.alice, a)).toBe(97_450);
    expect(await balanceOf(get(), day.bob, b)).toBe(2550);
  });

  it(`tells the payee in the app${opts.mailUrl ? ', and by e-mail through the Mailpit stand-in' : ''}`, async () => {
    expect(transactionId).toEqual(expect.any(String));
    const inApp = await eventually(
      async () => {
        const res = await request(get().baseUrl).get('/notifications').set(bearer(day.bob.token)).expect(200);
        const list = res.body.data as { type: string; body: string; data: { transaction_id?: string } }[];
        return list.find((n) => n.data?.transaction_id === transactionId);
      },
      20_000,
      "bob's in-app notification",
    );
    expect(inApp).toMatchObject({ type: 'transaction.received' });
    expect(inApp.body).toContain('£25.50');
    if (!opts.mailUrl) return;
    const mailUrl = opts.mailUrl();
    const mail = await eventually(
      async () => (await mailpitMails(mailUrl, day.bob.email)).find((m) => m.text.includes('£25.50')),
      30_000,
      "bob's notification e-mail",
    );
    expect(mail.headers.subject).toBe('Money received');
    expect(mail.text).toContain('£25.50');
  });

  it('serves the API docs as HTML at /docs', async () => {
    const res = await request(get().baseUrl).get('/docs').redirects(2).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/swagger-ui/i);
  });

  return day;
}

/** What the specs pass to the test/support helpers: a base URL and the first admin's credentials. */
export function runningAt(baseUrl: string, admin: { ADMIN_EMAIL: string; ADMIN_PASSWORD: string }): Running {
  return {
    kind: 'monolith',
    baseUrl,
    t: { env: admin } as unknown as Running['t'],
    env: admin,
    services: {},
    children: [],
    stop: async () => undefined,
  };
}
