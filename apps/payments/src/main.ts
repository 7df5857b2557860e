import { AccountsContract, AuthContract, TransactionsContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { PaymentsModule } from '@protobank/payments';

/** The payments service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'payments',
  port: SERVICES.payments.port,
  transport: 'rmq',
  modules: [PaymentsModule],
  calls: [AuthContract, AccountsContract, TransactionsContract, UsersContract],
});
