import { AccountsContract, AuthContract, TransactionsContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';

/** The transactions service (the ledger) as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'transactions',
  port: SERVICES.transactions.port,
  transport: 'rmq',
  modules: [TransactionsModule],
  serves: [TransactionsContract],
  calls: [AccountsContract, AuthContract, UsersContract],
});
