import { Inject, Injectable } from '@nestjs/common';
import { TRANSACTIONS_API, type TransactionsApi } from '@protobank/contracts';
import { AppConfig, dateOf, jsonAmount, period, startOfDay, todayIn, type Caller } from '@protobank/platform';
import { formatSortCode } from '@protobank/contracts';
import type { StatementQuery } from '../open/account.dto';
import { AccountsService } from '../open/accounts.service';
import type { StatementView } from './statement-csv';

/** Statements: opening balance, each transaction with the running balance, closing balance. */
@Injectable()
export class StatementService {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly config: AppConfig,
  ) {}

  async statement(caller: Caller, id: string, q: StatementQuery): Promise<StatementView> {
    const now = new Date();
    const zone = this.config.bankTimeZone;
    // Without `from`, the statement starts on the first of the month of its end (`to`, or today), in the
    // bank's time zone: `?to=2026-11-30` is November's statement.
    const end = (q.to && dateOf(q.to, zone, { end: true })) || todayIn(zone, now);
    const monthStart = startOfDay(`${end.slice(0, 7)}-01`, zone);
    const { from, to } = period(q.from, q.to, { from: monthStart, to: now }, zone);
    // Filed after the period is known to be valid and the ledger has answered: a 400 or a statement too
    // large (422) files no staff read. A colleague's is refused before the ledger is asked (toBeRead).
    const account = await this.accounts.toBeRead(caller, id);
    const s = await this.ledger.statement(id, from.toISOString(), to.toISOString());
    await this.accounts.assertMaySeeAccount(caller, account, 'statement');
    return {
      account_id: id,
      sort_code: formatSortCode(account.sort_code),
      account_number: account.account_number,
      currency: s.currency,
      from: from.toISOString(),
      to: to.toISOString(),
      opening_balance: jsonAmount(s.opening_balance),
      closing_balance: jsonAmount(s.closing_balance),
      entries: s.lines.map((l) => ({
        transaction_id: l.transaction_id,
        kind: l.kind,
        reference: l.reference,
        // A transactions app from before merchants were on statement lines sends none.
        merchant: l.merchant ?? null,
        amount: jsonAmount(l.amount),
        balance: jsonAmount(l.balance),
        created_at: l.created_at,
      })),
    };
  }
}
