import { runApp, SERVICES } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';

/** The transactions service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'transactions',
  port: SERVICES.transactions.port,
  transport: 'rmq',
  modules: [TransactionsModule],
});
