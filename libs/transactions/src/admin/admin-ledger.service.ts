import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Currency } from '@protobank/contracts';
import {
  AppError,
  AppConfig,
  assertAmountWithin,
  requestFingerprint,
  type Caller,
} from '@protobank/platform';
import { DataSource } from 'typeorm';
import { HistoryService } from '../history/history.service';
import { Ledger } from '../ledger/ledger';
import type { DepositDto, ReverseDto } from './admin-ledger.dto';

/**
 * Staff money movements: deposits from the cash system account, and reversing entries. Staff never
 * move money into or out of their own accounts (segregation of duties).
 */
@Injectable()
export class AdminLedgerService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
  ) {}

  async deposit(staff: Caller, body: DepositDto, key: string) {
    assertAmountWithin(body.amount, this.config.maxAmount);
    await this.refuseOwn(staff, [body.account_id]);
    const posted = await this.ledger.post({
      kind: 'deposit',
      debit: await this.ledger.systemAccount('cash', body.currency),
      credit: body.account_id,
      amount: body.amount,
      currency: body.currency,
      reference: body.reference ?? null,
      initiatedBy: staff.user_id,
      idempotency: { owner: staff.user_id, key, fingerprint: requestFingerprint('deposit', { ...body }) },
      fields: { debit: 'account_id', credit: 'account_id' },
    });
    return { view: await this.history.get(null, posted.entryId), replayed: posted.replayed };
  }

  async reverse(staff: Caller, entryId: string, body: ReverseDto, key: string) {
    const original = await this.history.get(null, entryId);
    if (original.kind === 'reversal') {
      throw AppError.unprocessable(
        'not_reversible',
        'A reversal cannot itself be reversed; post a new entry',
      );
    }
    await this.refuseOwn(staff, [original.from_account_id, original.to_account_id]);
    const posted = await this.ledger.post({
      kind: 'reversal',
      debit: original.to_account_id,
      credit: original.from_account_id,
      amount: original.amount,
      currency: original.currency as Currency,
      reference: body.reason ?? `Reversal of ${original.id}`,
      reverses: original.id,
      initiatedBy: staff.user_id,
      allowFrozen: true,
      idempotency: {
        owner: staff.user_id,
        key,
        fingerprint: requestFingerprint('reverse', { id: entryId, ...body }),
      },
      fields: { debit: 'id', credit: 'id' },
    });
    return { view: await this.history.get(null, posted.entryId), replayed: posted.replayed };
  }

  private async refuseOwn(staff: Caller, accountIds: string[]) {
    const own = (await this.dataSource.query(
      `SELECT 1 FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[]) AND owner_id = $2`,
      [accountIds, staff.user_id],
    )) as unknown[];
    if (own.length) {
      throw new AppError(403, 'own_account', 'Staff cannot move money on their own accounts');
    }
  }
}
