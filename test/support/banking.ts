/** Banking actors for scenarios: KYC-verified customers with funded accounts. */
import { randomInt, randomUUID } from 'node:crypto';
import request from 'supertest';
import { asReviewed, bearer, newCustomer, PASSWORD, signedIn, type Actor } from './actors';
import { eventually, metricValue, scrapeMetrics } from './test-env';
import type { Running } from './topologies';

export interface Account {
  id: string;
  account_number: string;
  currency: string;
}

/** A passport number of its own: one document verifies one customer. */
export const newPassportNumber = () => `P${String(randomInt(1e9)).padStart(9, '0')}`;

/**
 * The customer sends a (valid) passport of their own for KYC, under `fullName` (default: the profile's
 * name) and, when given, `latinName` as its Latin spelling; it waits for staff review.
 */
export async function submitKyc(
  running: Running,
  c: Actor,
  fullName?: string,
  latinName?: string,
): Promise<void> {
  await request(running.baseUrl)
    .post('/users/me/kyc')
    .set(bearer(c.token))
    .send({
      document_type: 'passport',
      document_number: newPassportNumber(),
      country: 'GB',
      date_of_birth: '1990-04-12',
      ...(fullName === undefined ? {} : { full_name: fullName }),
      ...(latinName === undefined ? {} : { latin_name: latinName }),
    })
    .expect(201);
}

/**
 * A customer whose KYC the admin has approved (under `fullName`, when given, as their legal name, and
 * `latinName` as its Latin spelling).
 */
export async function verifiedCustomer(
  running: Running,
  admin: Actor,
  tag: string,
  fullName?: string,
  latinName?: string,
): Promise<Actor> {
  const c = await newCustomer(running, tag);
  await submitKyc(running, c, fullName, latinName);
  await request(running.baseUrl)
    .post(`/admin/kyc/${c.id}/approve`)
    .set(bearer(admin.token))
    .send(await asReviewed(request(running.baseUrl), admin.token, c.id))
    .expect(200);
  return c;
}

export async function openAccount(
  running: Running,
  owner: Actor,
  currency = 'GBP',
  type: 'current' | 'savings' = 'current',
): Promise<Account> {
  const res = await request(running.baseUrl)
    .post('/accounts')
    .set(bearer(owner.token))
    .send({ type, currency })
    .expect(201);
  return res.body as Account;
}

export async function deposit(running: Running, admin: Actor, account: Account, amount: number) {
  const res = await postDeposit(running, admin, {
    account_id: account.id,
    amount,
    currency: account.currency,
    reason: 'Test: funding',
    reference: 'Test funding',
  }).expect(201);
  return res.body as { id: string };
}

/** A card as `POST /cards` answers it: the only answer, besides a reveal, with its full number and CVC. */
export interface IssuedCard {
  id: string;
  account_id: string;
  pan: string;
  cvc: string;
  expiry_month: number;
  expiry_year: number;
}

/** `owner` issues a virtual card (or the `body`'s) on their own `account`. */
export async function issueCard(
  running: Running,
  owner: Actor,
  account: Pick<Account, 'id'>,
  body: Record<string, unknown> = {},
): Promise<IssuedCard> {
  const res = await request(running.baseUrl)
    .post('/cards')
    .set(bearer(owner.token))
    .send({ account_id: account.id, type: 'virtual', ...body })
    .expect(201);
  return res.body as IssuedCard;
}

export async function balanceOf(running: Running, owner: Actor, account: Account): Promise<number> {
  const res = await request(running.baseUrl)
    .get(`/accounts/${account.id}/balance`)
    .set(bearer(owner.token))
    .expect(200);
  return res.body.balance as number;
}

/** POST /admin/deposits as `staff` with any body, under a fresh Idempotency-Key unless one is given. */
export const postDeposit = (
  running: Running,
  staff: Actor,
  body: Record<string, unknown>,
  key: string = randomUUID(),
) =>
  request(running.baseUrl)
    .post('/admin/deposits')
    .set(bearer(staff.token))
    .set('Idempotency-Key', key)
    .send(body);

export const transfer = (
  running: Running,
  owner: Actor,
  body: Record<string, unknown>,
  key: string = randomUUID(),
) =>
  request(running.baseUrl)
    .post('/transactions')
    .set(bearer(owner.token))
    .set('Idempotency-Key', key)
    .send(body);

/**
 * The admin makes `user` staff (or admin). The role change ends their sessions when auth takes its event
 * (at once in the monolith, over RabbitMQ in split): they sign in again after that, with the new role.
 */
export async function promote(
  running: Running,
  admin: Actor,
  user: Actor,
  role: 'staff' | 'admin' = 'staff',
): Promise<Actor> {
  await request(running.baseUrl)
    .patch(`/admin/users/${user.id}`)
    .set(bearer(admin.token))
    .send({ role, reason: 'Test: staff change' })
    .expect(200);
  await eventually(
    async () =>
      (await request(running.baseUrl).get('/users/me').set(bearer(user.token))).status === 401
        ? true
        : undefined,
    15000,
    `${user.email}'s old session to end`,
  );
  const login = await request(running.baseUrl)
    .post('/auth/login')
    .send({ email: user.email, password: PASSWORD })
    .expect(200);
  return signedIn(running, user, login.body);
}

/**
 * The ledger's batcher as the transactions app's /metrics shows it: postings queued for a batch, batches
 * committed, and the postings those carried.
 */
export async function ledgerBatcher(running: Running) {
  const text = await scrapeMetrics(running.t, running.services.transactions ?? running.baseUrl);
  return {
    waiting: metricValue(text, 'ledger_postings_waiting', {}),
    batches: metricValue(text, 'ledger_batches_total', { result: 'committed' }),
    items: metricValue(text, 'ledger_batch_items_total', {}),
  };
}
