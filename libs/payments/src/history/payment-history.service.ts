import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, USERS_API, type TransactionsApi, type UsersApi } from '@protobank/contracts';
import {
  AppError,
  fileListRead,
  pageOfKept,
  rolesOf,
  withoutColleagues,
  type Caller,
} from '@protobank/platform';
import { DataSource } from 'typeorm';
import { paymentView } from '../orders/views';
import { PAYMENT_READ, type PaymentReadRow } from '../run/payment-rows';

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
   * (pageOfKept: read on until the page is full, the cursor at the last one shown; users asked once per
   * owner). The page is filed as a read of each owner's failed payments before it is shown (fileListRead).
   */
  failed(caller: Caller, cursor: string | undefined, limit: number) {
    const roles = rolesOf(this.users);
    return this.page(
      `p.status = 'failed' AND $1::uuid IS NULL AND $2::uuid IS NULL`,
      [null, null],
      cursor,
      limit,
      (rows) => withoutColleagues(caller, rows, (r) => r.owner_id, roles),
      (page) =>
        fileListRead(
          caller,
          page.map((r) => r.owner_id),
          this.users,
          'failed_payments',
        ),
    );
  }

  private page(
    where: string,
    params: unknown[],
    cursor: string | undefined,
    limit: number,
    keep: (rows: PaymentReadRow[]) => Promise<PaymentReadRow[]> = async (rows) => rows,
    shown?: (page: PaymentReadRow[]) => Promise<void>,
  ) {
    const n = params.length; // the page's parameters follow the filter's
    return pageOfKept(
      {
        cursor,
        limit,
        keep,
        shown,
        position: (row) => ({ created_at: row.settled_at!, id: row.id }),
        read: async (after, count) =>
          (await this.dataSource.query(
            `${PAYMENT_READ}
              WHERE ${where} AND ($${n + 1}::timestamptz IS NULL OR (p.settled_at, p.id) < ($${n + 1}, $${n + 2}::uuid))
              ORDER BY p.settled_at DESC, p.id DESC LIMIT $${n + 3}`,
            [...params, after?.created_at ?? null, after?.id ?? null, count],
          )) as PaymentReadRow[],
      },
      paymentView,
    );
  }
}
