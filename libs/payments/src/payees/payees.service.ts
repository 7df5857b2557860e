import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  ACCOUNTS_API,
  isValidAccountNumber,
  TRANSACTIONS_API,
  USERS_API,
  type AccountsApi,
  type TransactionsApi,
  type UsersApi,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertSomethingToChange,
  DestinationMisses,
  encodeCursor,
  decodeCursor,
  pageOf,
  ADVISORY_LOCKS,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { cancelOpenOrders } from '../run/order-state';
import type { CreatePayeeDto, DeletedPayeeDto, PayeeDto, UpdatePayeeDto } from './payee.dto';
import { schemeFields } from './scheme-text';

/** Most payees one customer keeps (deleted ones aside). */
export const MAX_PAYEES = 200;

/** Key space (pg_advisory_xact_lock's two-int form) of a customer's payee creations. */
const PAYEE_LOCK = ADVISORY_LOCKS.payeeCreation;

export interface PayeeRow {
  id: string;
  owner_id: string;
  name: string;
  sort_code: string;
  account_number: string;
  reference: string | null;
  type: 'internal' | 'external';
  account_id: string | null;
  created_at: Date;
}

const COLUMNS = 'id, owner_id, name, sort_code, account_number, reference, type, account_id, created_at';

export const payeeView = (r: PayeeRow): PayeeDto => ({
  id: r.id,
  name: r.name,
  sort_code: r.sort_code,
  account_number: r.account_number,
  reference: r.reference,
  type: r.type,
  created_at: r.created_at.toISOString(),
});

/**
 * A customer's saved payees. An internal payee (our sort code) is resolved to its account when saved, so
 * a number that does not exist is refused then (422 naming account_number), not at the first payment.
 * That answer tells whether an account number exists, as a transfer by number does, so saving a payee
 * takes what a transfer takes: a verified identity (no one pays from an account without one), and a
 * lookup that misses counts toward the same TRANSFER_MISS_LIMIT (DestinationMisses).
 */
@Injectable()
export class PayeesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(ACCOUNTS_API) private readonly accounts: AccountsApi,
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly misses: DestinationMisses,
  ) {}

  /**
   * Only our own numbers are checked for a typo: each bank numbers its accounts under its own scheme
   * (UK banks' modulus checks differ by sort code range, some have none), so our check digit would refuse
   * most real numbers at other banks. An external payee's number is 8 digits (the DTO), no more.
   */
  async create(ownerId: string, body: CreatePayeeDto): Promise<PayeeDto> {
    const internal = body.sort_code === this.config.sortCode;
    // An external payee's name and reference are kept as the scheme will carry them (the response shows it).
    const { name, reference } = internal
      ? { name: body.name, reference: body.reference }
      : schemeFields(body.name, body.reference);
    if (internal && !isValidAccountNumber(body.sort_code, body.account_number)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: account_number', [
        { field: 'account_number', message: 'account_number fails its check digit: check it for a typo' },
      ]);
    }
    const { status } = await this.users.getKycStatus(ownerId);
    if (status !== 'verified') {
      throw new AppError(403, 'kyc_required', 'Payees can be saved once your identity (KYC) is verified');
    }
    const accountId = internal ? await this.resolve(ownerId, body.account_number) : null;
    // Creations sent in parallel are counted one after another, or they could all pass the cap.
    const row = await this.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [PAYEE_LOCK, ownerId]);
      const [created] = (await m.query(
        `INSERT INTO payments.payees (id, owner_id, name, sort_code, account_number, reference, type, account_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8
          WHERE (SELECT count(*) FROM payments.payees WHERE owner_id = $2 AND deleted_at IS NULL) < ${MAX_PAYEES}
         RETURNING ${COLUMNS}`,
        [
          randomUUID(),
          ownerId,
          name,
          body.sort_code,
          body.account_number,
          reference ?? null,
          internal ? 'internal' : 'external',
          accountId,
        ],
      )) as PayeeRow[];
      return created;
    });
    if (!row) {
      throw AppError.unprocessable(
        'too_many_payees',
        `You can keep at most ${MAX_PAYEES} payees; delete one first`,
      );
    }
    return payeeView(row);
  }

  /**
   * The account with this number, counted as a miss while it is looked up (as a transfer's). A closed one
   * cannot be paid: refused now rather than at every order to it (helper-122 saved one), and counted as a
   * miss, as a transfer's refusal for a closed account is.
   */
  private async resolve(ownerId: string, accountNumber: string): Promise<string> {
    const { account_id } = await this.misses.lookUp(
      ownerId,
      () => this.accounts.resolveNumber(accountNumber),
      () =>
        AppError.unprocessable('payee_account_not_found', 'No account at Protobank has this number', [
          { field: 'account_number', message: 'no account at our sort code has this number' },
        ]),
    );
    const [state] = await this.ledger.getStates([account_id]);
    if (state?.status === 'closed') {
      await this.misses.record(ownerId);
      throw AppError.unprocessable('payee_account_closed', 'The account with this number is closed', [
        { field: 'account_number', message: 'this account is closed and can no longer be paid' },
      ]);
    }
    return account_id;
  }

  async list(ownerId: string, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM payments.payees
        WHERE owner_id = $1 AND deleted_at IS NULL
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
        ORDER BY created_at, id LIMIT $4`,
      [ownerId, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as PayeeRow[];
    return pageOf(rows, limit, payeeView, (last) => encodeCursor(last));
  }

  /** The caller's payee (not deleted); 404 naming `field` otherwise, another customer's included. */
  async own(ownerId: string, id: string, field = 'id'): Promise<PayeeRow> {
    const [row] = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM payments.payees WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`,
      [id, ownerId],
    )) as PayeeRow[];
    if (!row) throw new AppError(404, 'not_found', 'Payee not found', [{ field, message: 'no such payee' }]);
    return row;
  }

  /**
   * Changes a payee's name or default reference, kept as when saved (an external payee's mapped to what the
   * scheme carries). Never where the money goes: a new sort code or number is a new payee, saved as one
   * (its account looked up and counted, and held after a password reset). The payee's orders show the new
   * name, and an external payee's next payments carry it; orders keep the reference they were set up with.
   */
  async update(ownerId: string, id: string, change: UpdatePayeeDto): Promise<PayeeDto> {
    assertSomethingToChange(change, 'nothing to change', 'give name or reference');
    const { type } = await this.own(ownerId, id);
    const { name, reference } = type === 'internal' ? change : schemeFields(change.name, change.reference);
    const [[row]] = (await this.dataSource.query(
      `UPDATE payments.payees
          SET name = COALESCE($3, name), reference = CASE WHEN $4 THEN $5 ELSE reference END
        WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL
        RETURNING ${COLUMNS}`,
      [id, ownerId, name ?? null, reference !== undefined, reference ?? null],
    )) as [PayeeRow[], number];
    // Deleted since it was read.
    if (!row) throw AppError.notFound('payee', 'id');
    return payeeView(row);
  }

  /**
   * Deletes the payee and cancels what would still pay it (cancelOpenOrders): its active or suspended
   * standing orders and its scheduled payments not yet made.
   */
  async delete(ownerId: string, id: string): Promise<DeletedPayeeDto> {
    return this.dataSource.transaction(async (m) => {
      const [deleted] = (await m.query(
        `UPDATE payments.payees SET deleted_at = now()
          WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL RETURNING id`,
        [id, ownerId],
      )) as [{ id: string }[], number];
      if (!deleted.length) throw AppError.notFound('payee', 'id');
      const cancelled = await cancelOpenOrders(m, { payee_id: id }, 'payee_deleted');
      return {
        id,
        deleted: true as const,
        cancelled_standing_orders: cancelled.standing_orders,
        cancelled_scheduled_payments: cancelled.scheduled_payments,
      };
    });
  }
}
