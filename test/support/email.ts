/** The account's e-mail address verified through the real flow: the code read from the suite's SMTP receiver. */
import { randomInt } from 'node:crypto';
import request from 'supertest';
import { bearer, type Actor } from './actors';
import type { Mail } from './receivers';
import { eventually } from './test-env';
import type { Running } from './topologies';

export const EMAIL_CODE_SUBJECT = 'Your Protobank code';
const CODE_IN_MAIL = /code is (\d{6})\./;

/** The code an e-mail verification mail's text carries. */
export const codeInMail = (text: string): string | undefined => CODE_IN_MAIL.exec(text)?.[1];

/** The codes e-mailed to `email`, oldest first. */
export const emailCodes = (mails: Mail[], email: string): string[] =>
  mails
    .filter((m) => m.to.includes(email) && m.subject === EMAIL_CODE_SUBJECT)
    .map((m) => codeInMail(m.text)!);

// Each customer asks from their own client address (X-Forwarded-For, which the suites' apps trust from
// loopback), as customers do: a suite verifies more addresses than the 30 codes an hour one address may
// ask for, and the scenarios that ask without it share loopback's.
let ipSeq = randomInt(0, 1 << 16);
const clientIp = () => {
  const n = ipSeq++;
  return `10.250.${(n >> 8) & 255}.${n & 255}`;
};

/** Asks for a code for `who`'s address (202) and returns it once it arrives. */
export async function mailedEmailCode(running: Running, mails: () => Mail[], who: Actor): Promise<string> {
  const before = emailCodes(mails(), who.email).length;
  await request(running.baseUrl)
    .post('/auth/email/verification')
    .set(bearer(who.token))
    .set('X-Forwarded-For', clientIp())
    .expect(202);
  return eventually(async () => emailCodes(mails(), who.email)[before], 10_000, 'the e-mailed code');
}

/** Verifies `who`'s address with the code it was e-mailed. */
export async function verifyEmail(running: Running, mails: () => Mail[], who: Actor): Promise<void> {
  const code = await mailedEmailCode(running, mails, who);
  const res = await request(running.baseUrl)
    .post('/auth/email/verification/confirm')
    .set(bearer(who.token))
    .send({ code })
    .expect(200);
  if (res.body.verified !== true) throw new Error(`e-mail not verified: ${JSON.stringify(res.body)}`);
}

/**
 * verifyEmail(), then waits until notifications have recorded the address (from auth's
 * `user.email_verified`): from then on `who`'s e-mail notices other than security ones go out.
 */
export async function verifyEmailForNotices(
  running: Running,
  mails: () => Mail[],
  who: Actor,
): Promise<void> {
  await verifyEmail(running, mails, who);
  // A client of its own, closed after (as logInFirstAdmin's): called per customer, it would otherwise hold
  // one of PostgreSQL's connections each until the suite ends.
  const db = await running.t.db();
  try {
    await eventually(
      async () => {
        const { rows } = await db.query(`SELECT 1 FROM notifications.verified_emails WHERE user_id = $1`, [
          who.id,
        ]);
        return rows.length ? true : undefined;
      },
      10_000,
      'the address recorded for notices',
    );
  } finally {
    await db.end();
  }
}
