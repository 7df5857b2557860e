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

/**
 * Cancels what would still pay from an account or to a payee (`by`): the active or suspended standing
 * orders, with their payments not yet tried, and the scheduled payments whose payment could still be
 * skipped, each with `reason`. A payment being posted at this moment completes (it is recorded against its
 * cancelled order). A scheduled payment is cancelled only if its payment could be skipped: the skip's row
 * locks order it with a sweep's claim, so either the claim committed first (the payment is being made, and
 * its order is left to say so) or the claim finds it skipped; none is both cancelled and paid. Orders are
 * locked in id order before their payments (lockOrders' order).
 */
export async function cancelOpenOrders(
  m: EntityManager,
  by: { payee_id: string } | { owner_id: string; from_account_id: string },
  reason: 'payee_deleted' | 'account_closed',
): Promise<{ standing_orders: number; scheduled_payments: number }> {
  // By owner first: the owner indexes find an account's orders.
  const [where, params] =
    'payee_id' in by
      ? ['payee_id = $1', [by.payee_id]]
      : ['owner_id = $1 AND from_account_id = $2', [by.owner_id, by.from_account_id]];
  const orders = (await m.query(
    `SELECT id FROM payments.standing_orders WHERE ${where} AND status IN ('active', 'suspended')
      ORDER BY id FOR UPDATE`,
    params,
  )) as { id: string }[];
  await m.query(
    `UPDATE payments.standing_orders SET status = 'cancelled', status_reason = $2, next_payment_date = NULL,
            updated_at = now()
      WHERE id = ANY($1::uuid[])`,
    [orders.map((o) => o.id), reason],
  );
  for (const o of orders) await skipOpenPayments(m, o.id);
  const open = (await m.query(
    `SELECT id FROM payments.scheduled_payments WHERE ${where} AND status = 'scheduled' ORDER BY id FOR UPDATE`,
    params,
  )) as { id: string }[];
  const [skipped] = (await m.query(
    `UPDATE payments.payments SET status = 'skipped', updated_at = now()
      WHERE order_id = ANY($1::uuid[]) AND status IN ('pending', 'retrying') RETURNING order_id`,
    [open.map((o) => o.id)],
  )) as [{ order_id: string }[], number];
  const [scheduled] = (await m.query(
    `UPDATE payments.scheduled_payments SET status = 'cancelled', status_reason = $2, updated_at = now()
      WHERE id = ANY($1::uuid[]) RETURNING id`,
    [skipped.map((p) => p.order_id), reason],
  )) as [{ id: string }[], number];
  return { standing_orders: orders.length, scheduled_payments: scheduled.length };
}
