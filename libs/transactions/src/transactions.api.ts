import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  CardClearing,
  CardClearingResult,
  CardHold,
  CardHoldRequest,
  CardHoldResult,
  CardRefund,
  CardRefundResult,
  Currency,
  EntryPosition,
  HoldRelease,
  HoldReleaseResult,
  LedgerAccountState,
  LedgerEntry,
  PaymentPosting,
  PaymentPostingResult,
  PaymentVoidResult,
  StaffChange,
  Statement,
  TransactionsApi,
} from '@protobank/contracts';
import { AppConfig, AppError, jsonAmount, timeOrderedId } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { CardHolds } from './ledger/card-holds';
import { Ledger } from './ledger/ledger';
import { readEntries } from './ledger/ledger-entries';
import { freezeAuthor, toState, type LedgerAccountRow } from './ledger/ledger-rows';
import { assertPaymentShape, paymentFingerprint, paymentResult } from './ledger/payment-outcomes';
import { writeLedgerEvent, writeStaffAction, type StaffActionDraft } from './ledger/staff-actions';
import { TransactionsConfig } from './transactions.config';

/** Most lines one statement carries; a longer period is asked for in parts. */
export const STATEMENT_MAX_LINES = 5000;

/** A ledger row as LedgerAccountRow has it, with its available balance as SQL computes it (one home). */
const COLUMNS =
  'id, kind, owner_id, currency, status, overdraft_limit, balance, held, version, frozen_by, ' +
  'transactions.available_balance(ledger_accounts) AS available';

/** A staff change decided on the locked row: the SET clause (its parameters from $3) and what to audit. */
interface Decision {
  set: string;
  params: unknown[];
  action: StaffActionDraft['action'];
  before: StaffActionDraft['before'];
  after: StaffActionDraft['after'];
}

/**
 * A hold h on account $1 that expired unclaimed less than $2 days ago: its clearing may still come.
 * Counted from its expiry, not its authorisation, so that CARD_HOLD_EXPIRY_DAYS (cards' setting, up to 31)
 * cannot use the window up before the hold has even expired.
 */
const LATE_CLEARING_POSSIBLE = `h.account_id = $1 AND h.status = 'expired' AND h.transaction_id IS NULL
  AND h.expires_at > clock_timestamp() - make_interval(days => $2::int)`;

/**
 * The transactions module's facade: what other modules may call (TRANSACTIONS_API), in-process or over
 * RabbitMQ. The ledger side of customer accounts, for the accounts module:
 * opening, status and overdraft changes, closing, and states for display; payments' postings, and the
 * card network's holds, clearings and refunds for the cards module (CardHolds). Every change takes the
 * ledger row's lock (an UPDATE), so it is ordered with transfers: once a freeze has returned, no
 * transfer that has not already committed can move money on the account.
 */
@Injectable()
export class TransactionsApiService implements TransactionsApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    private readonly cards: CardHolds,
    private readonly config: AppConfig,
    private readonly ledgerConfig: TransactionsConfig,
  ) {}

  async openAccount(input: { account_id: string; owner_id: string; currency: Currency }) {
    await this.dataSource.query(
      `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
       VALUES ($1, 'customer', $2, $3, 0) ON CONFLICT (id) DO NOTHING`,
      [input.account_id, input.owner_id, input.currency],
    );
    const [state] = await this.getStates([input.account_id]);
    if (!state || state.owner_id !== input.owner_id || state.currency !== input.currency) {
      throw AppError.conflict('account_exists', 'Another account has this id');
    }
    return state;
  }

  async getStates(accountIds: string[]): Promise<LedgerAccountState[]> {
    if (accountIds.length === 0) return [];
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[]) AND kind = 'customer'`,
      [accountIds],
    )) as LedgerAccountRow[];
    return rows.map((r) => toState(r));
  }

  setStatus(accountId: string, status: 'active' | 'frozen', change: StaffChange) {
    return this.staffChange(accountId, change, (row): Decision => {
      if (status === 'frozen') {
        // A second freeze is refused, not merged: its author would become the freeze's, and could lift it.
        if (row.status === 'frozen')
          throw AppError.conflict('already_frozen', 'The account is already frozen');
        return {
          set: `status = 'frozen', frozen_by = $3, frozen_at = $2`,
          params: [change.actor.user_id],
          action: 'account_frozen',
          before: { status: row.status },
          after: { status: 'frozen' },
        };
      }
      if (row.status !== 'frozen') throw AppError.conflict('not_frozen', 'The account is not frozen');
      // Segregation of duties: a staff member lifts only their own freezes; another's (an admin's
      // included, and one from before the ledger recorded authors) takes an admin, and is audited as such.
      const author = freezeAuthor(row);
      if (change.actor.role !== 'admin' && author !== change.actor.user_id) {
        throw new AppError(
          403,
          'frozen_by_other',
          'Only an admin, or the staff member who froze this account, can unfreeze it',
        );
      }
      return {
        set: `status = 'active', frozen_by = NULL, frozen_at = NULL`,
        params: [],
        action: 'account_unfrozen',
        before: { status: 'frozen', frozen_by: author },
        after: { status: 'active' },
      };
    });
  }

  setOverdraftLimit(accountId: string, limit: bigint, change: StaffChange) {
    if (limit < 0n) throw AppError.badRequest('validation_failed', 'overdraft_limit must not be negative');
    // The limit it already has changes nothing and is not audited (a retry after a lost reply wrote a
    // second entry, before and after equal).
    return this.staffChange(accountId, change, (row) =>
      BigInt(row.overdraft_limit ?? 0) === limit
        ? null
        : {
            set: `overdraft_limit = $3`,
            params: [limit.toString()],
            action: 'overdraft_limit_changed',
            before: { overdraft_limit: jsonAmount(row.overdraft_limit ?? 0) },
            after: { overdraft_limit: jsonAmount(limit) },
          },
    );
  }

  /**
   * Only an empty account closes: no balance, and no card hold whose clearing could still come: none
   * active, and none that expired less than CARD_LATE_CLEARING_DAYS ago (a hotel or car hire presents
   * late; a clearing then found the account closed and was refused for good, the merchant paid by the
   * scheme and nothing owed in the ledger). A reversed hold is the merchant saying no clearing.
   */
  close(accountId: string) {
    return this.closeWhen(
      accountId,
      `status = 'active' AND balance = 0 AND held = 0
        AND NOT EXISTS (SELECT 1 FROM transactions.holds h WHERE ${LATE_CLEARING_POSSIBLE})`,
    );
  }

  async statement(accountId: string, from: string, to: string): Promise<Statement> {
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      const [account] = (await m.query(
        `SELECT ${COLUMNS} FROM transactions.ledger_accounts WHERE id = $1 AND kind = 'customer'`,
        [accountId],
      )) as LedgerAccountRow[];
      if (!account) throw AppError.notFound('account');
      const [before] = (await m.query(
        `SELECT balance_after FROM transactions.postings
          WHERE account_id = $1 AND created_at < $2 ORDER BY account_version DESC LIMIT 1`,
        [accountId, from],
      )) as { balance_after: string }[];
      const lines = (await m.query(
        `SELECT p.entry_id, e.kind, e.reference, e.merchant, p.amount, p.balance_after, p.created_at
           FROM transactions.postings p JOIN transactions.entries e ON e.id = p.entry_id
          WHERE p.account_id = $1 AND p.created_at >= $2 AND p.created_at < $3
          ORDER BY p.account_version LIMIT ${STATEMENT_MAX_LINES + 1}`,
        [accountId, from, to],
      )) as {
        entry_id: string;
        kind: string;
        reference: string | null;
        merchant: string | null;
        amount: string;
        balance_after: string;
        created_at: Date;
      }[];
      if (lines.length > STATEMENT_MAX_LINES) {
        throw AppError.unprocessable(
          'statement_too_large',
          `More than ${STATEMENT_MAX_LINES} transactions in this period; ask for a shorter one`,
        );
      }
      const opening = BigInt(before?.balance_after ?? 0);
      return {
        account_id: accountId,
        currency: account.currency,
        opening_balance: opening,
        closing_balance: lines.length ? BigInt(lines[lines.length - 1].balance_after) : opening,
        lines: lines.map((l) => ({
          transaction_id: l.entry_id,
          kind: l.kind,
          reference: l.reference,
          merchant: l.merchant,
          amount: BigInt(l.amount),
          balance: BigInt(l.balance_after),
          created_at: l.created_at.toISOString(),
        })),
      };
    });
  }

  entries(after: EntryPosition | null, limit: number): Promise<LedgerEntry[]> {
    return readEntries(this.dataSource, after, limit);
  }

  /**
   * One payment of a standing order or scheduled payment: from the payer's account to an internal
   * payee's, or to an external payee through a shard of outbound_clearing (the payee's name then the
   * entry's merchant). Idempotent per (payer, key) for postings only; see transactions.post_payment.
   */
  async pay(payment: PaymentPosting): Promise<PaymentPostingResult> {
    assertPaymentShape(payment);
    const payee = payment.to_account_id ?? null;
    const posted = await this.ledger.postPayment({
      kind: payment.kind,
      owner: payment.owner_id,
      debit: payment.from_account_id,
      credit: payee ?? (await this.ledger.systemAccount('outbound_clearing', payment.currency)),
      amount: payment.amount,
      currency: payment.currency,
      reference: payment.reference,
      merchant: payee === null ? payment.payee_name : null,
      key: payment.key,
      fingerprint: paymentFingerprint(payment),
    });
    return paymentResult(posted);
  }

  async voidPayment(payment: { key: string; owner_id: string }): Promise<PaymentVoidResult> {
    if (typeof payment.key !== 'string' || payment.key.length === 0) {
      throw AppError.badRequest('validation_failed', 'Invalid payment: key', [
        { field: 'key', message: 'key is required' },
      ]);
    }
    const posted = await this.ledger.voidPayment(payment.owner_id, payment.key);
    return posted
      ? { outcome: 'posted', transaction_id: posted.entryId, created_at: posted.createdAt.toISOString() }
      : { outcome: 'voided' };
  }

  authoriseCard(request: CardHoldRequest): Promise<CardHoldResult> {
    return this.cards.authorise(request);
  }

  clearCard(clearing: CardClearing): Promise<CardClearingResult> {
    return this.cards.clear(clearing);
  }

  releaseHold(release: HoldRelease): Promise<HoldReleaseResult> {
    return this.cards.release(release);
  }

  refundCard(refund: CardRefund): Promise<CardRefundResult> {
    return this.cards.refund(refund);
  }

  expiredHolds(now: string, limit: number): Promise<{ hold_id: string; card_id: string }[]> {
    return this.cards.expired(now, limit);
  }

  getHold(holdId: string): Promise<CardHold | null> {
    return this.cards.hold(holdId);
  }

  /**
   * A staff change, in one transaction: locks the ledger row, refuses the actor's own account (its owner
   * is read under that lock: nothing can slip in between check and change), lets `decide` refuse or say
   * what to set (or that nothing changes: then nothing is written), applies it and writes
   * staff_action.recorded to the outbox, so the audit entry exists if and only if the change does.
   */
  private async staffChange(
    accountId: string,
    change: StaffChange,
    decide: (row: LedgerAccountRow) => Decision | null,
  ): Promise<LedgerAccountState> {
    const { actor } = change;
    if (actor.role !== 'staff' && actor.role !== 'admin') {
      throw new AppError(403, 'forbidden', 'Your role does not allow this');
    }
    const updated = await this.dataSource.transaction(async (m) => {
      const [row] = (await m.query(
        `SELECT ${COLUMNS} FROM transactions.ledger_accounts WHERE id = $1 AND kind = 'customer' FOR UPDATE`,
        [accountId],
      )) as LedgerAccountRow[];
      if (!row) throw AppError.notFound('account');
      if (row.owner_id === actor.user_id) {
        this.ledger.ownAccountRefused(actor.user_id, [accountId]);
        throw new AppError(403, 'own_account', 'Staff cannot change their own accounts');
      }
      if (row.status === 'closed') throw AppError.conflict('account_closed', 'The account is closed');
      const decision = decide(row);
      if (!decision) return { row, changed: false }; // nothing to change, nothing to audit
      const at = new Date(); // taken under the lock: the audit entry's time
      const [rows] = (await m.query(
        `UPDATE transactions.ledger_accounts SET ${decision.set}, version = version + 1, updated_at = $2
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [accountId, at, ...decision.params],
      )) as [LedgerAccountRow[], number];
      await writeStaffAction(m, at, {
        action: decision.action,
        actor_id: actor.user_id,
        actor_role: actor.role,
        target_user_id: row.owner_id,
        resource_type: 'account',
        resource_id: accountId,
        before: decision.before,
        after: decision.after,
        reason: change.reason,
      });
      return { row: rows[0], changed: true };
    });
    if (updated.changed) await this.ledger.afterCommit([updated.row]);
    return toState(updated.row);
  }

  /**
   * Closes when `allowed` holds under the row lock, with account.closed in the same transaction (its
   * cards and payment orders end with it); otherwise says why not.
   */
  private async closeWhen(accountId: string, allowed: string, attempt = 1): Promise<LedgerAccountState> {
    const rows = await this.dataSource.transaction(async (m) => {
      const [closed] = (await m.query(
        `UPDATE transactions.ledger_accounts
            SET status = 'closed', version = version + 1, updated_at = clock_timestamp()
          WHERE id = $1 AND kind = 'customer' AND ${allowed} RETURNING ${COLUMNS}`,
        [accountId, this.ledgerConfig.cardLateClearingDays],
      )) as [LedgerAccountRow[], number];
      if (closed.length) {
        await writeLedgerEvent(m, 'account.closed', {
          event_id: timeOrderedId(),
          occurred_at: new Date().toISOString(),
          account_id: accountId,
          owner_id: closed[0].owner_id as string,
        });
      }
      return closed;
    });
    if (rows.length) {
      await this.ledger.afterCommit(rows);
      return toState(rows[0]);
    }
    const [current] = await this.getStates([accountId]);
    if (!current) throw AppError.notFound('account');
    if (current.status === 'closed') throw AppError.conflict('account_closed', 'The account is closed');
    if (current.status === 'frozen') throw AppError.conflict('account_frozen', 'The account is frozen');
    if (current.held > 0n) {
      throw AppError.conflict(
        'holds_pending',
        'Card payments are still pending on this account: it can be closed once they have cleared or been released',
      );
    }
    if (current.balance !== 0n) {
      throw AppError.conflict('balance_not_zero', 'Only an account with a zero balance can be closed');
    }
    const [late] = (await this.dataSource.query(
      `SELECT ((max(h.expires_at) + make_interval(days => $2::int)) AT TIME ZONE $3)::date::text AS until
         FROM transactions.holds h WHERE ${LATE_CLEARING_POSSIBLE}`,
      [accountId, this.ledgerConfig.cardLateClearingDays, this.config.bankTimeZone],
    )) as { until: string | null }[];
    if (late?.until) {
      throw AppError.conflict(
        'holds_pending',
        `A card payment whose hold expired may still be charged until ${late.until}: the account can be closed after that`,
      );
    }
    // Nothing stands in the way any more (a late-clearing window ended, a payment in and out meanwhile):
    // try again, a few times at most.
    if (attempt < 3) return this.closeWhen(accountId, allowed, attempt + 1);
    throw new AppError(409, 'try_again', 'The account changed while it was being closed; try again');
  }
}
