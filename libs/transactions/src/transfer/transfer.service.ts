import { Inject, Injectable } from '@nestjs/common';
import { ACCOUNTS_API, isValidAccountNumber, type AccountsApi } from '@protobank/contracts';
import {
  AppError,
  AppConfig,
  DestinationMisses,
  REPLAYED_HEADER,
  assertAmountWithin,
  assertNoResetHold,
  underResetHold,
  requestFingerprint,
  type Caller,
} from '@protobank/platform';
import { HistoryService } from '../history/history.service';
import { Ledger } from '../ledger/ledger';
import { refusalError } from '../ledger/posting-outcomes';
import { TransactionsApiService } from '../transactions.api';
import type { TransferDto } from './transfer.dto';

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);

const DESTINATION_FIELDS = new Set(['to_account_id', 'to_account_number']);

/**
 * A customer moves money from their account to any account of the bank. Everything that decides
 * whether money may move (ownership, status, currency, funds) is checked by the ledger under its row
 * locks; here only the request's own shape is, and how many transfers the caller has had refused for
 * their destination (DestinationMisses): the distinct answers for a missing, closed or other-currency
 * account help an honest customer fix a payment, and past a few they stop.
 */
@Injectable()
export class TransferService {
  constructor(
    private readonly ledger: Ledger,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
    @Inject(ACCOUNTS_API) private readonly accounts: AccountsApi,
    private readonly ledgerAccounts: TransactionsApiService,
    private readonly misses: DestinationMisses,
  ) {}

  async transfer(caller: Caller, body: TransferDto, key: string) {
    if ((body.to_account_id === undefined) === (body.to_account_number === undefined)) {
      throw invalid('to_account_id', 'give exactly one of to_account_id and to_account_number');
    }
    assertAmountWithin(body.amount, this.config.maxAmount);
    const fingerprint = requestFingerprint('transfer', { ...body });
    // An account id cannot be guessed, so a transfer by id is no probe: it is not held up by the block,
    // and costs no Redis round trip on the hot path. A retry of a transfer by number already decided
    // (the same key and request) is no probe either: it replays, even past the block, and counts nothing.
    // Asked once, where it matters: a transfer by number, or any while a reset's hold lasts (a transfer
    // decided before, retried with its key, replays past the hold too).
    const held = underResetHold(caller);
    const decided =
      (body.to_account_id === undefined || held) &&
      (await this.ledger.decidedBefore(caller.user_id, key, fingerprint));
    const to = body.to_account_id ?? (await this.resolve(caller.user_id, body.to_account_number!, decided));
    if (held && !decided) await this.checkResetHold(caller, body, to);
    try {
      return await this.post(caller, body, key, fingerprint, to);
    } catch (err) {
      // A replayed refusal was counted when it was decided: a client retrying as told is not probing.
      const replayed = err instanceof AppError && err.headers[REPLAYED_HEADER] === 'true';
      if (!replayed && (await this.isDestinationMiss(err, body))) await this.misses.record(caller.user_id);
      throw err;
    }
  }

  private async post(caller: Caller, body: TransferDto, key: string, fingerprint: string, to: string) {
    if (to === body.from_account_id) {
      // Another customer's account is not found, as in the ledger, whatever the destination: answering
      // same_account would tell which account number that id (seen in one's own history) has.
      const [source] = await this.ledgerAccounts.getStates([to]);
      if (source?.owner_id !== caller.user_id) {
        throw refusalError('debit_not_found', { debit: 'from_account_id', credit: 'to_account_number' });
      }
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

  /**
   * After a password reset by e-mail, money goes only to the caller's own accounts until the session's
   * hold ends (assertNoResetHold); the caller skips it for a transfer decided before (a retry replays).
   */
  private async checkResetHold(caller: Caller, body: TransferDto, to: string) {
    const [destination] = await this.ledgerAccounts.getStates([to]);
    if (destination?.owner_id === caller.user_id) return;
    assertNoResetHold(
      caller,
      'a transfer to an account other than your own',
      body.to_account_id ? 'to_account_id' : 'to_account_number',
    );
  }

  /**
   * Whether the ledger refused for the destination: it does not exist, is closed, or holds another
   * currency. A missing or closed account names its side; a currency refusal names `currency`, so the
   * caller's own (source) account decides: if it is in the transfer's currency, the destination was the
   * problem.
   */
  private async isDestinationMiss(err: unknown, body: TransferDto): Promise<boolean> {
    if (!(err instanceof AppError)) return false;
    if (err.status === 404 || err.code === 'account_closed') {
      return err.details.some((d) => d.field && DESTINATION_FIELDS.has(d.field));
    }
    if (err.code !== 'currency_mismatch') return false;
    const [source] = await this.ledgerAccounts.getStates([body.from_account_id]).catch(() => []);
    if (!source) return true; // cannot tell: count it
    return source.currency === body.currency;
  }

  /**
   * The account with this number, counted as a miss while it is looked up (see DestinationMisses). A
   * number failing its check digit is refused first and not counted: that answer tells nothing of
   * which accounts exist.
   */
  private async resolve(userId: string, number: string, replay: boolean): Promise<string> {
    if (!isValidAccountNumber(this.config.sortCode, number)) {
      throw invalid('to_account_number', 'to_account_number fails its check digit: check it for a typo');
    }
    const missing = () =>
      new AppError(404, 'not_found', 'Account not found', [
        { field: 'to_account_number', message: 'no account has this number' },
      ]);
    if (replay) {
      return (
        await this.accounts.resolveNumber(number).catch((err: unknown) => {
          throw err instanceof AppError && err.status === 404 ? missing() : err;
        })
      ).account_id;
    }
    const { account_id } = await this.misses.lookUp(
      userId,
      () => this.accounts.resolveNumber(number),
      missing,
    );
    return account_id;
  }
}
