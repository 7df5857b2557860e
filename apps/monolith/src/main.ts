import { AccountsModule } from '@protobank/accounts';
import { AnalyticsModule } from '@protobank/analytics';
import { AuthModule } from '@protobank/auth';
import { CardsModule } from '@protobank/cards';
import { NotificationsModule } from '@protobank/notifications';
import { PaymentsModule } from '@protobank/payments';
import { MONOLITH_PORT, runApp } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';
import { UsersModule } from '@protobank/users';

/** Every domain module in one process; contracts bound locally, events relayed in-process, no RabbitMQ. */
void runApp({
  service: 'monolith',
  port: MONOLITH_PORT,
  transport: 'local',
  modules: [
    AuthModule,
    UsersModule,
    AccountsModule,
    TransactionsModule,
    CardsModule,
    PaymentsModule,
    NotificationsModule,
    AnalyticsModule,
  ],
});
