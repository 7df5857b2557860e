import request from 'supertest';
import { bearer, type Actor } from './actors';
import type { Receivers } from './receivers';
import { eventually } from './test-env';
import type { Running } from './topologies';

const CODE_TEXT = /^Your Protobank code is (\d{6})\./;

/** The codes texted to `phone` so far (through the SMS webhook), oldest first. */
export const codesSentTo = (receivers: Receivers, phone: string): string[] =>
  receivers.hooks
    .filter((h) => h.path === '/sms' && h.body.to === phone)
    .map((h) => CODE_TEXT.exec(String(h.body.text))?.[1])
    .filter((c): c is string => c !== undefined);

/** Asks for a code for the profile's number (202) and returns it as texted. */
export async function textedCode(running: Running, receivers: Receivers, who: Actor, phone: string) {
  const before = codesSentTo(receivers, phone).length;
  await request(running.baseUrl).post('/notifications/phone/verification').set(bearer(who.token)).expect(202);
  return eventually(async () => codesSentTo(receivers, phone)[before], 5000, `the code texted to ${phone}`);
}

/** Verifies the profile's number (`phone`) the way its owner does: a code texted, then confirmed. */
export async function verifyPhone(running: Running, receivers: Receivers, who: Actor, phone: string) {
  const code = await textedCode(running, receivers, who, phone);
  await request(running.baseUrl)
    .post('/notifications/phone/verification/confirm')
    .set(bearer(who.token))
    .send({ code })
    .expect(200);
}
