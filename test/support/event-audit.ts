/**
 * After a fault: did every committed transfer reach its consumers exactly once? Each ledger entry moving
 * money between two customers gives each of them one notification (transaction.sent or .received) and one
 * analytics movement (out for the payer, in for the payee). Counted from the stored rows, so a lost event
 * shows as a 0 and an event delivered twice under two ids (the inboxes stop a redelivery of one id) as a 2.
 */
import amqp from 'amqplib';
import { topology } from './processes';

/** A pg Client, or anything answering a query the same way (the container suite's psql over docker exec). */
export interface Queryable {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface PartyCount {
  entry_id: string;
  user_id: string;
  notifications: number;
  movements: number;
}

export interface EventAudit {
  /** Entries of these accounts in the ledger. */
  entries: number;
  /** Parties with no notification or no movement for an entry. */
  lost: PartyCount[];
  /** Parties with more than one of either for an entry. */
  doubled: PartyCount[];
}

/** Audits every entry whose payer is one of `payerAccountIds` (a 2xx or not: whatever committed). */
export async function auditTransfers(db: Queryable, payerAccountIds: string[]): Promise<EventAudit> {
  const { rows } = (await db.query(
    `WITH parties AS (
       SELECT e.id AS entry_id, a.owner_id AS user_id, 'out' AS direction
         FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.debit_account_id
        WHERE e.debit_account_id = ANY($1::uuid[]) AND a.kind = 'customer'
       UNION ALL
       SELECT e.id, a.owner_id, 'in'
         FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.credit_account_id
        WHERE e.debit_account_id = ANY($1::uuid[]) AND a.kind = 'customer')
     SELECT p.entry_id, p.user_id,
            (SELECT count(*)::int FROM notifications.notifications n
              WHERE n.user_id = p.user_id AND n.data->>'transaction_id' = p.entry_id::text) AS notifications,
            (SELECT count(*)::int FROM analytics.movements m
              WHERE m.transaction_id = p.entry_id AND m.user_id = p.user_id AND m.direction = p.direction) AS movements
       FROM parties p`,
    [payerAccountIds],
  )) as { rows: PartyCount[] };
  return {
    entries: new Set(rows.map((r) => r.entry_id)).size,
    lost: rows.filter((r) => r.notifications === 0 || r.movements === 0),
    doubled: rows.filter((r) => r.notifications > 1 || r.movements > 1),
  };
}

/**
 * The message count of each service's dead-letter queue on the broker at `rabbitUrl` (a service that
 * consumes no events has none, and is left out).
 */
export async function deadLetterDepths(rabbitUrl: string, prefix: string): Promise<Record<string, number>> {
  const connection = await amqp.connect(rabbitUrl);
  const depths: Record<string, number> = {};
  try {
    for (const service of topology.SERVICE_NAMES) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined); // a 404 closes the channel: no such queue
      const dead = await channel.checkQueue(`${prefix}.dead.events.${service}`).catch(() => undefined);
      if (dead) depths[service] = dead.messageCount;
    }
  } finally {
    await connection.close();
  }
  return depths;
}
