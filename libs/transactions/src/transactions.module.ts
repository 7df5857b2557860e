import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TRANSACTIONS_API } from '@protobank/contracts';
import { DestinationMisses, idempotencyKeysIn, outboxFor } from '@protobank/platform';
import { QueuesModule } from '@protobank/platform/queues';
import { AdminLedgerController } from './admin/admin-ledger.controller';
import { AdminLedgerService } from './admin/admin-ledger.service';
import { BackupMetrics } from './admin/backup-metrics';
import {
  LEDGER_VERIFICATION_QUEUE,
  LedgerVerificationJobs,
  LedgerVerificationWorker,
} from './admin/ledger-verification-jobs';
import { LedgerVerifyService } from './admin/ledger-verify.service';
import { HistoryController } from './history/history.controller';
import { HistoryService } from './history/history.service';
import { CardHolds } from './ledger/card-holds';
import { Ledger } from './ledger/ledger';
import { TransactionsApiService } from './transactions.api';
import { TransferController } from './transfer/transfer.controller';
import { TransferService } from './transfer/transfer.service';
import { transactionsConfigProvider } from './transactions.config';

/**
 * The ledger: journal entries, postings, balances, idempotency, and the transfers, deposits, reversals
 * and reads on top. Global so TRANSACTIONS_API, bound here to the local implementation, is injectable
 * anywhere in the monolith; split apps bind the token to a RabbitMQ client instead.
 */
@Global()
@Module({
  imports: [QueuesModule, BullModule.registerQueue({ name: LEDGER_VERIFICATION_QUEUE })],
  controllers: [TransferController, HistoryController, AdminLedgerController],
  providers: [
    transactionsConfigProvider,
    Ledger,
    CardHolds,
    TransactionsApiService,
    HistoryService,
    TransferService,
    DestinationMisses,
    AdminLedgerService,
    LedgerVerifyService,
    LedgerVerificationJobs,
    LedgerVerificationWorker,
    BackupMetrics,
    // Payments' keys ('payment <order>:<due date>', migration LedgerPayments) and the card network's
    // ('card-clearing <id>', 'card-refund <id>', migration CardHolds) never expire: a posting replays
    // however late it is asked for again. Word for word the predicate of idempotency_keys_expiring_idx.
    idempotencyKeysIn('transactions', {
      prunable: `key NOT LIKE 'payment %' AND key NOT LIKE 'card-clearing %' AND key NOT LIKE 'card-refund %'`,
    }),
    { provide: TRANSACTIONS_API, useExisting: TransactionsApiService },
    outboxFor('transactions'),
  ],
  exports: [TRANSACTIONS_API],
})
export class TransactionsModule {}
