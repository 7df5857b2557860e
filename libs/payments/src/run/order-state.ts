import type { PaymentSource } from '@protobank/contracts';
import type { EntityManager } from 'typeorm';

/**
 * Locks (FOR UPDATE) the orders of `payments`: standing orders, then scheduled payments, each in id
 * order. Every writer that changes several orders, or an order and its payments, takes its locks in this
 * one order (payee, standing orders, scheduled payments, payments), so none can deadlock another: a sweep
 * recording a round, a payee deletion, a customer's cancel.
 */
export async function lockOrders(
  m: EntityManager,
  payments: readonly { source: PaymentSource; order_id: string }[],
): Promise<void> {
  for (const [source, table] of [
    ['standing_order', 'payments.standing_orders'],
    ['scheduled_payment', 'payments.scheduled_payments'],
  ] as const) {
    const ids = payments.filter((p) => p.source === source).map((p) => p.order_id);
    if (ids.length === 0) continue;
    await m.query(`SELECT id FROM ${table} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids]);
  }
}

/** Payments of a stopped order not yet tried (or waiting to be retried) are skipped; one being posted is left alone. */
export async function skipOpenPayments(m: EntityManager, orderId: string): Promise<number> {
  const [, count] = (await m.query(
    `UPDATE payments.payments SET status = 'skipped', updated_at = now()
      WHERE order_id = $1 AND status IN ('pending', 'retrying')`,
    [orderId],
  )) as [unknown, number];
  return count;
}

/** Active standing orders with no date left and no payment open are completed; how many were. */
export async function completeIfDone(
  m: EntityManager,
  orderIds: string | readonly string[],
): Promise<number> {
  const [, count] = (await m.query(
    `UPDATE payments.standing_orders o SET status = 'completed', updated_at = now()
      WHERE o.id = ANY($1::uuid[]) AND o.status = 'active' AND o.next_payment_date IS NULL
        AND NOT EXISTS (SELECT 1 FROM payments.payments p
                         WHERE p.order_id = o.id AND p.status IN ('pending', 'processing', 'retrying'))`,
    [typeof orderIds === 'string' ? [orderIds] : orderIds],
  )) as [unknown, number];
  return count;
}
