import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { DestinationMisses, idempotencyKeysIn, inboxFor, outboxFor } from '@protobank/platform';
import { QueuesModule } from '@protobank/platform/queues';
import { AdminPaymentsController } from './history/admin-payments.controller';
import { OrdersOfClosedAccounts } from './orders/account-closures';
import { PaymentHistoryService } from './history/payment-history.service';
import { PaymentsController } from './history/payments.controller';
import { ReversedPayments } from './history/reversed-payments';
import { OrderChecks } from './orders/order-checks';
import { ScheduledPaymentsController } from './orders/scheduled-payments.controller';
import { ScheduledPaymentsService } from './orders/scheduled-payments.service';
import { StandingOrdersController } from './orders/standing-orders.controller';
import { StandingOrdersService } from './orders/standing-orders.service';
import { PayeesController } from './payees/payees.controller';
import { PayeesService } from './payees/payees.service';
import { PAYMENTS_CLOCK, systemClock } from './run/clock';
import { DueSweep } from './run/due-sweep';
import { PaymentQueues } from './run/queues';
import { SweepKicks } from './run/sweep-kicks';
import { SweepProcessor } from './run/sweep.processor';
import { paymentsConfigProvider } from './payments.config';

/**
 * Payments: payees, one-off scheduled payments and standing orders, and the due sweep that pays them
 * through the ledger (TRANSACTIONS_API.pay), run every minute by a BullMQ job scheduler. Events
 * (payment.executed, payment.failed, payment.sent) leave through the payments outbox; account.closed cancels
 * the closed account's orders; transaction.reversed marks a payment staff reversed.
 */
@Module({
  imports: [QueuesModule, BullModule.registerQueue({ name: PaymentQueues.sweeps })],
  controllers: [
    PayeesController,
    ScheduledPaymentsController,
    StandingOrdersController,
    PaymentsController,
    AdminPaymentsController,
    // Handle account.closed and transaction.reversed: Nest finds @EventPattern (our @OnEvent) on
    // controllers only.
    OrdersOfClosedAccounts,
    ReversedPayments,
  ],
  providers: [
    paymentsConfigProvider,
    outboxFor('payments'),
    inboxFor('payments'),
    idempotencyKeysIn('payments'),
    { provide: PAYMENTS_CLOCK, useValue: systemClock },
    PayeesService,
    DestinationMisses,
    OrderChecks,
    ScheduledPaymentsService,
    StandingOrdersService,
    PaymentHistoryService,
    DueSweep,
    SweepKicks,
    SweepProcessor,
  ],
})
export class PaymentsModule {}
