import { Global, Module } from '@nestjs/common';
import { TRANSACTIONS_API } from '@protobank/contracts';
import { idempotencyKeysIn, outboxFor } from '@protobank/platform';
import { AdminLedgerController } from './admin/admin-ledger.controller';
import { AdminLedgerService } from './admin/admin-ledger.service';
import { LedgerVerifyService } from './admin/ledger-verify.service';
import { HistoryController } from './history/history.controller';
import { HistoryService } from './history/history.service';
import { Ledger } from './ledger/ledger';
import { LedgerAccountsService } from './ledger/ledger-accounts.service';
import { DestinationMisses } from './transfer/destination-misses';
import { TransferController } from './transfer/transfer.controller';
import { TransferService } from './transfer/transfer.service';

/**
 * The ledger: journal entries, postings, balances, idempotency, and the transfers, deposits, reversals
 * and reads on top. Global so TRANSACTIONS_API, bound here to the local implementation, is injectable
 * anywhere in the monolith; split apps bind the token to a RabbitMQ client instead.
 */
@Global()
@Module({
  controllers: [TransferController, HistoryController, AdminLedgerController],
  providers: [
    Ledger,
    LedgerAccountsService,
    HistoryService,
    TransferService,
    DestinationMisses,
    AdminLedgerService,
    LedgerVerifyService,
    // Payments' keys ('payment <order>:<due date>', migration LedgerPayments) never expire: a posted
    // payment replays however late the payments module asks again.
    idempotencyKeysIn('transactions', { prunable: `key NOT LIKE 'payment %'` }),
    { provide: TRANSACTIONS_API, useExisting: LedgerAccountsService },
    outboxFor('transactions'),
  ],
  exports: [TRANSACTIONS_API],
})
export class TransactionsModule {}
