import { AccountsContract, AuthContract, TransactionsContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { AccountsModule } from '@protobank/accounts';

/** The accounts service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'accounts',
  port: SERVICES.accounts.port,
  transport: 'rmq',
  modules: [AccountsModule],
  serves: [AccountsContract],
  calls: [UsersContract, TransactionsContract, AuthContract],
});
