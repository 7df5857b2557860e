import type { Currency } from '@protobank/contracts';
import type { Client } from 'pg';

/** Each client's last query: one client runs one query at a time (pg 9 refuses a second meanwhile). */
const lastQuery = new WeakMap<Client, Promise<unknown>>();

/**
 * A deposit from the bank's cash into `accountId`, straight through post_entry (as a staff deposit posts
 * it), for suites that set accounts up without the HTTP API. Throws unless it posted. Deposits asked for
 * at once on one client run one after the other.
 */
export async function depositFromCash(
  db: Client,
  accountId: string,
  amount: number,
  currency: Currency = 'GBP',
): Promise<void> {
  const before = lastQuery.get(db) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => deposit(db, accountId, amount, currency));
  lastQuery.set(db, mine);
  await mine;
}

async function deposit(db: Client, accountId: string, amount: number, currency: Currency): Promise<void> {
  const { rows } = await db.query<{ outcome: string }>(
    `SELECT p.outcome FROM transactions.ledger_accounts c,
            transactions.post_entry(gen_random_uuid(), 'deposit', c.id, $1, $2, $3, NULL, NULL, NULL, NULL,
                                    NULL, NULL, NULL, false, NULL, NULL, NULL, NULL) p
      WHERE c.system_code = 'cash' AND c.currency = $3 AND c.shard = 0`,
    [accountId, amount, currency],
  );
  if (rows[0]?.outcome !== 'posted')
    throw new Error(`deposit into ${accountId}: ${rows[0]?.outcome ?? 'no row'}`);
}
