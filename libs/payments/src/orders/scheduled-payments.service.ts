import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, AppError, decodeCursor, encodeCursor, pageOf } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SweepKicks } from '../run/sweep-kicks';
import { paymentDay, startOfDay } from '../schedule/calendar';
import { OrderChecks, orderReference } from './order-checks';
import type { CreateScheduledPaymentDto, ScheduledPaymentDto, ScheduledPaymentsQuery } from './order.dto';
import {
  SCHEDULED_PAYMENT_SELECT,
  SCHEDULED_STATUS,
  scheduledPaymentView,
  type ScheduledPaymentRow,
} from './views';

/**
 * One-off payments on a date. Setting one up writes its one payment too (pending until its paying day),
 * so the due sweep treats it exactly as a standing order's: same key rule, same retries.
 */
@Injectable()
export class ScheduledPaymentsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly checks: OrderChecks,
    private readonly config: AppConfig,
    private readonly sweeps: SweepKicks,
  ) {}

  async create(
    ownerId: string,
    body: CreateScheduledPaymentDto,
    key: string,
  ): Promise<{ view: ScheduledPaymentDto; replayed: boolean }> {
    const payOn = paymentDay(body.pay_on, this.config);
    const { id, replayed } = await this.checks.createOnce(
      'scheduled_payment',
      ownerId,
      key,
      body,
      payOn,
      () => this.checks.assertWithinYear('pay_on', body.pay_on),
      async (m, id, payee) => {
        await m.query(
          `INSERT INTO payments.scheduled_payments (id, owner_id, from_account_id, payee_id, amount, currency, reference, pay_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            id,
            ownerId,
            body.from_account_id,
            payee.id,
            body.amount,
            body.currency,
            orderReference(body, payee),
            body.pay_on,
          ],
        );
        await m.query(
          `INSERT INTO payments.payments (id, source, order_id, n, owner_id, from_account_id, payee_id, amount, currency,
                                          reference, due_date, pay_on, next_attempt_at)
           VALUES ($1, 'scheduled_payment', $2, 0, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            randomUUID(),
            id,
            ownerId,
            body.from_account_id,
            payee.id,
            body.amount,
            body.currency,
            orderReference(body, payee),
            body.pay_on,
            payOn,
            startOfDay(payOn, this.config.bankTimeZone),
          ],
        );
      },
    );
    if (replayed) return { view: await this.get(ownerId, id), replayed: true };
    // Due today: paid at once (by a sweep now), not at the next minute's.
    if (payOn <= this.checks.today()) await this.sweeps.kick();
    return { view: await this.get(ownerId, id), replayed: false };
  }

  async list(ownerId: string, query: ScheduledPaymentsQuery) {
    const limit = query.limit ?? 20;
    const after = query.cursor ? decodeCursor(query.cursor) : null;
    const rows = (await this.dataSource.query(
      `${SCHEDULED_PAYMENT_SELECT}
        WHERE o.owner_id = $1 AND ($2::text IS NULL OR ${SCHEDULED_STATUS} = $2)
          AND ($3::timestamptz IS NULL OR (o.created_at, o.id) < ($3, $4::uuid))
        ORDER BY o.created_at DESC, o.id DESC LIMIT $5`,
      [ownerId, query.status ?? null, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as ScheduledPaymentRow[];
    return pageOf(rows, limit, scheduledPaymentView, (last) => encodeCursor(last));
  }

  async get(ownerId: string, id: string): Promise<ScheduledPaymentDto> {
    const [row] = (await this.dataSource.query(
      `${SCHEDULED_PAYMENT_SELECT} WHERE o.id = $1 AND o.owner_id = $2`,
      [id, ownerId],
    )) as ScheduledPaymentRow[];
    if (!row) throw AppError.notFound('scheduled payment', 'id');
    return scheduledPaymentView(row);
  }

  /** Cancels it while its payment has not run: 409 once it is being paid, paid or failed. */
  async cancel(ownerId: string, id: string): Promise<ScheduledPaymentDto> {
    await this.dataSource.transaction(async (m) => {
      const [order] = (await m.query(
        `SELECT status FROM payments.scheduled_payments WHERE id = $1 AND owner_id = $2 FOR UPDATE`,
        [id, ownerId],
      )) as { status: string }[];
      if (!order) throw AppError.notFound('scheduled payment', 'id');
      if (order.status === 'cancelled')
        throw AppError.conflict('already_cancelled', 'The payment is already cancelled');
      if (order.status !== 'scheduled') {
        throw AppError.conflict(
          'payment_already_run',
          `The payment has run (${order.status}): it cannot be cancelled`,
        );
      }
      // The payment's row lock orders this with a sweep's claim: either the claim comes first (409
      // below) or it finds the payment skipped.
      const [payment] = (await m.query(
        `SELECT status FROM payments.payments WHERE order_id = $1 FOR UPDATE`,
        [id],
      )) as { status: string }[];
      if (payment?.status === 'processing') {
        throw AppError.conflict(
          'payment_in_progress',
          'The payment is being made now: it cannot be cancelled',
        );
      }
      await m.query(
        `UPDATE payments.scheduled_payments SET status = 'cancelled', status_reason = 'customer', updated_at = now()
          WHERE id = $1`,
        [id],
      );
      await m.query(
        `UPDATE payments.payments SET status = 'skipped', updated_at = now()
          WHERE order_id = $1 AND status IN ('pending', 'retrying')`,
        [id],
      );
    });
    return this.get(ownerId, id);
  }
}
