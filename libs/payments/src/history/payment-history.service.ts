import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, USERS_API, type TransactionsApi, type UsersApi } from '@protobank/contracts';
import { AppError, decodeCursor, encodeCursor, pageOf, roleOf, type Caller } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { paymentView } from '../orders/views';
import { PAYMENT_COLUMNS, type PaymentRow } from '../run/payment-rows';

/**
 * Payments that have run (paid or failed), newest first: a customer's, or every failed one for staff
 * (a colleague's left out for a staff member, as every read of a colleague's money is: assertMaySeeOwner).
 */
@Injectable()
export class PaymentHistoryService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  async forCustomer(
    ownerId: string,
    accountId: string | undefined,
    cursor: string | undefined,
    limit: number,
  ) {
    if (accountId) {
      const [state] = await this.ledger.getStates([accountId]);
      if (!state || state.owner_id !== ownerId) {
        throw new AppError(404, 'not_found', 'Account not found', [
          { field: 'account_id', message: 'no such account of yours' },
        ]);
      }
    }
    return this.page(
      `p.owner_id = $1 AND ($2::uuid IS NULL OR p.from_account_id = $2) AND p.settled_at IS NOT NULL`,
      [ownerId, accountId ?? null],
      cursor,
      limit,
    );
  }

  /**
   * For a staff member, the payments of colleagues (staff and admins other than the caller) are left out
   * of each page after it is read, so a page may hold fewer than `limit`; `next_cursor` still pages on
   * from the last one read.
   */
  failed(caller: Caller, cursor: string | undefined, limit: number) {
    return this.page(
      `p.status = 'failed' AND $1::uuid IS NULL AND $2::uuid IS NULL`,
      [null, null],
      cursor,
      limit,
      (rows) => this.withoutColleagues(caller, rows),
    );
  }

  private async withoutColleagues(caller: Caller, rows: PaymentRow[]): Promise<PaymentRow[]> {
    if (caller.role !== 'staff') return rows;
    const others = [...new Set(rows.map((r) => r.owner_id))].filter((o) => o !== caller.user_id);
    const roles = new Map(
      await Promise.all(others.map(async (o) => [o, await roleOf(this.users, o)] as const)),
    );
    return rows.filter((r) => (roles.get(r.owner_id) ?? 'customer') === 'customer');
  }

  private async page(
    where: string,
    params: unknown[],
    cursor: string | undefined,
    limit: number,
    keep: (rows: PaymentRow[]) => Promise<PaymentRow[]> = async (rows) => rows,
  ) {
    const after = cursor ? decodeCursor(cursor) : null;
    const n = params.length; // the page's parameters follow the filter's
    const rows = (await this.dataSource.query(
      `SELECT ${PAYMENT_COLUMNS} FROM payments.payments p
        WHERE ${where} AND ($${n + 1}::timestamptz IS NULL OR (p.settled_at, p.id) < ($${n + 1}, $${n + 2}::uuid))
        ORDER BY p.settled_at DESC, p.id DESC LIMIT $${n + 3}`,
      [...params, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as PaymentRow[];
    const page = pageOf(
      rows,
      limit,
      (row) => row,
      (last) => encodeCursor({ created_at: last.settled_at!, id: last.id }),
    );
    return { data: (await keep(page.data)).map(paymentView), next_cursor: page.next_cursor };
  }
}
