import type { Currency } from '@protobank/contracts';
import type { Client } from 'pg';

/**
 * A deposit from the bank's cash into `accountId`, straight through post_entry (as a staff deposit posts
 * it), for suites that set accounts up without the HTTP API. Throws unless it posted.
 */
export async function depositFromCash(
  db: Client,
  accountId: string,
  amount: number,
  currency: Currency = 'GBP',
): Promise<void> {
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
