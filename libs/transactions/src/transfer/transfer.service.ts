import { Inject, Injectable } from '@nestjs/common';
import { ACCOUNTS_API, isValidAccountNumber, type AccountsApi } from '@protobank/contracts';
import {
  AppError,
  AppConfig,
  assertAmountWithin,
  requestFingerprint,
  type Caller,
} from '@protobank/platform';
import { HistoryService } from '../history/history.service';
import { Ledger } from '../ledger/ledger';
import type { TransferDto } from './transfer.dto';

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);

/**
 * A customer moves money from their account to any account of the bank. Everything that decides
 * whether money may move (ownership, status, currency, funds) is checked by the ledger under its row
 * locks; here only the request's own shape is.
 */
@Injectable()
export class TransferService {
  constructor(
    private readonly ledger: Ledger,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
    @Inject(ACCOUNTS_API) private readonly accounts: AccountsApi,
  ) {}

  async transfer(caller: Caller, body: TransferDto, key: string) {
    if ((body.to_account_id === undefined) === (body.to_account_number === undefined)) {
      throw invalid('to_account_id', 'give exactly one of to_account_id and to_account_number');
    }
    assertAmountWithin(body.amount, this.config.maxAmount);
    const fingerprint = requestFingerprint('transfer', { ...body });
    const to = body.to_account_id ?? (await this.resolve(body.to_account_number!));
    if (to === body.from_account_id) {
      throw AppError.unprocessable('same_account', 'An account cannot transfer to itself', [
        {
          field: body.to_account_id ? 'to_account_id' : 'to_account_number',
          message: 'same as from_account_id',
        },
      ]);
    }
    const entry = {
      kind: 'transfer' as const,
      debit: body.from_account_id,
      credit: to,
      amount: body.amount,
      currency: body.currency,
      reference: body.reference ?? null,
      reverses: null,
    };
    const posted = await this.ledger.post({
      ...entry,
      initiatedBy: caller.user_id,
      debitOwner: caller.user_id,
      idempotency: { owner: caller.user_id, key, fingerprint },
      fields: {
        debit: 'from_account_id',
        credit: body.to_account_id ? 'to_account_id' : 'to_account_number',
      },
    });
    const view = await this.history.postedView(posted, entry);
    return { view, replayed: posted.replayed };
  }

  private async resolve(number: string): Promise<string> {
    if (!isValidAccountNumber(this.config.sortCode, number)) {
      throw invalid('to_account_number', 'to_account_number fails its check digit: check it for a typo');
    }
    try {
      return (await this.accounts.resolveNumber(number)).account_id;
    } catch (err) {
      if (err instanceof AppError && err.status === 404) {
        throw new AppError(404, 'not_found', 'Account not found', [
          { field: 'to_account_number', message: 'no account has this number' },
        ]);
      }
      throw err;
    }
  }
}
