import type { EntityManager } from 'typeorm';

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
