/** Signed-in actors for scenarios: fresh customers, and the first admin the suite configured. */
import request from 'supertest';
import { eventually } from './test-env';
import type { Running } from './topologies';

export const PASSWORD = 'correct horse battery staple';
let seq = 0;

export interface Actor {
  id: string;
  email: string;
  token: string;
  refresh: string;
}

/**
 * Every actor made here, with the topology it signed in to (one list per test file: jest loads this
 * module once per file). A suite's scenarios mint their actors in beforeAll hooks that all run at the
 * suite's start, and a slow split run reaches its last scenarios past the 15-minute access token:
 * renewActors, run before each e2e test (test/jest/e2e.setup.ts), renews the old ones in place.
 */
const held: { actor: Actor; running: Running }[] = [];
const firstAdmins: { actor: Actor; running: Running }[] = [];

/** An actor signed in to `running` with the answer of its login (or refresh), renewed while it is held. */
export function signedIn(
  running: Running,
  who: { id: string; email: string },
  tokens: { access_token: string; refresh_token: string },
): Actor {
  const actor = { id: who.id, email: who.email, token: tokens.access_token, refresh: tokens.refresh_token };
  held.push({ actor, running });
  return actor;
}

/** Seconds until an access token's `exp`. */
function secondsLeft(token: string): number {
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    exp: number;
  };
  return exp - Date.now() / 1000;
}

/**
 * Refreshes (POST /auth/refresh) every held actor whose access token has less than `minSeconds` left, so
 * no test starts with a token that can expire before it ends (a test's budget is 120 s). An actor whose
 * session is gone (its test logged it out, disabled or demoted it) or whose topology has stopped keeps
 * the token it has and is no longer renewed.
 */
export async function renewActors(minSeconds = 300): Promise<void> {
  for (const entry of [...held]) {
    if (secondsLeft(entry.actor.token) >= minSeconds) continue;
    const res = await request(entry.running.baseUrl)
      .post('/auth/refresh')
      .timeout(5000)
      .send({ refresh_token: entry.actor.refresh })
      .catch(() => undefined);
    if (res?.status === 200) {
      entry.actor.token = res.body.access_token as string;
      entry.actor.refresh = res.body.refresh_token as string;
    } else {
      held.splice(held.indexOf(entry), 1);
    }
  }
}

export async function newCustomer(running: Running, tag: string): Promise<Actor> {
  const email = `${tag}.${Date.now()}.${seq++}@example.com`;
  const http = request(running.baseUrl);
  const reg = await http
    .post('/auth/register')
    // A name holds letters, digits, spaces and ' - . only: the tag's other characters (card_frozen) as "-".
    .send({ email, password: PASSWORD, full_name: `Cus ${tag.replace(/[^\p{L}\p{M}\p{Nd}' .-]/gu, '-')}` })
    .expect(201);
  const login = await request(running.baseUrl)
    .post('/auth/login')
    .send({ email, password: PASSWORD })
    .expect(200);
  return signedIn(running, { id: reg.body.id as string, email }, login.body);
}

/**
 * Logs in the admin from ADMIN_EMAIL / ADMIN_PASSWORD, created in the background at startup (in split mode
 * once auth reaches users over the broker, retried every 2 s). Every failed login counts towards the
 * e-mail's lockout (LOGIN_MAX_FAILURES, unknown e-mails too), so polling the login route for an admin that
 * does not exist yet would lock it out for LOGIN_LOCKOUT_SECONDS: wait for its active credential in the
 * database first, and log in only then. A topology without a database handle (the container suites) polls
 * the login, and stops at the first lock with a message that says so.
 */
async function logInFirstAdmin(running: Running) {
  const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = running.t.env;
  if (typeof running.t.db === 'function') {
    const db = await running.t.db();
    try {
      await eventually(
        async () => {
          const { rowCount } = await db.query(
            `SELECT 1 FROM auth.credentials WHERE lower(email) = lower($1) AND status = 'active' AND role = 'admin'`,
            [email],
          );
          return rowCount ? true : undefined;
        },
        60000,
        'the first admin to be created',
      );
    } finally {
      await db.end();
    }
  }
  const login = await eventually(
    async () => {
      const res = await request(running.baseUrl).post('/auth/login').send({ email, password });
      if (res.status === 429 && res.body?.code === 'account_locked') {
        throw new Error(`the first admin's login locked while polling for it: ${JSON.stringify(res.body)}`);
      }
      return res.status === 200 ? res : undefined;
    },
    20000,
    'the first admin to log in',
  );
  const me = await request(running.baseUrl)
    .get('/users/me')
    .set('Authorization', `Bearer ${login.body.access_token}`)
    .expect(200);
  if (me.body.role !== 'admin') throw new Error(`the first admin has role ${me.body.role}`);
  return { who: { id: me.body.id as string, email }, tokens: login.body as Parameters<typeof signedIn>[2] };
}

/** The admin from ADMIN_EMAIL / ADMIN_PASSWORD, in a session of its own. */
export async function firstAdmin(running: Running): Promise<Actor> {
  const { who, tokens } = await logInFirstAdmin(running);
  const actor = signedIn(running, who, tokens);
  firstAdmins.push({ actor, running });
  return actor;
}

/**
 * Signs the first admin in again, in place, wherever a scenario holds it (each in a session of its own):
 * for a test that demoted it, ending its sessions, to leave two admins alone, and then restored its role.
 */
export async function signInFirstAdminAgain(running: Running): Promise<void> {
  for (const entry of firstAdmins) {
    if (entry.running !== running) continue;
    const { tokens } = await logInFirstAdmin(running);
    entry.actor.token = tokens.access_token;
    entry.actor.refresh = tokens.refresh_token;
    if (!held.some((h) => h.actor === entry.actor)) held.push(entry);
  }
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * What a reviewer read of a customer's pending KYC submission before deciding on it: its submitted_at,
 * which the approval or rejection names (409 kyc_changed when the customer has submitted again since).
 * When the caller cannot read it (not staff, their own, no such user) a fixed instant: the decision is
 * then refused for that reason, before the submission is compared.
 */
export async function asReviewed(
  agent: ReturnType<typeof request>,
  token: string,
  userId: string,
): Promise<{ submitted_at: string }> {
  const res = await agent.get(`/admin/kyc/${userId}`).set(bearer(token));
  return { submitted_at: res.status === 200 ? (res.body.submitted_at as string) : UNREAD_SUBMISSION };
}

/** A submitted_at for decisions refused before the submission is looked at. */
export const UNREAD_SUBMISSION = '2000-01-01T00:00:00.000Z';

/**
 * Every page of a paged GET as `who`, `limit` rows at a time: the ids shown and each next_cursor as it
 * decodes (a cursor is the position of a row, so what it names was in effect shown).
 */
export async function pageThrough(
  running: Running,
  who: Actor,
  path: string,
  limit = 1,
): Promise<{ ids: string[]; cursors: string[] }> {
  const ids: string[] = [];
  const cursors: string[] = [];
  let cursor: string | null = null;
  do {
    const page: request.Response = await request(running.baseUrl)
      .get(path)
      .query({ limit, ...(cursor ? { cursor } : {}) })
      .set(bearer(who.token))
      .expect(200);
    ids.push(...page.body.data.map((x: { id: string }) => x.id));
    cursor = page.body.next_cursor as string | null;
    if (cursor) cursors.push(Buffer.from(cursor, 'base64url').toString('utf8'));
  } while (cursor);
  return { ids, cursors };
}

/**
 * How many times `actorId` read `ownerId`'s `viewed` (their failed payments, …) as the audit trail has it
 * (customer_data_viewed's `after.viewed`), read by an admin. Reads are filed before they are shown: no
 * waiting.
 */
export async function readsFiled(
  running: Running,
  admin: Actor,
  read: { actorId: string; ownerId: string; viewed: string },
): Promise<number> {
  const res = await request(running.baseUrl)
    .get('/admin/audit')
    .query({
      actor_id: read.actorId,
      target_user_id: read.ownerId,
      action: 'customer_data_viewed',
      limit: 100,
    })
    .set(bearer(admin.token))
    .expect(200);
  return (res.body.data as { after: { viewed: string } }[]).filter((e) => e.after.viewed === read.viewed)
    .length;
}
