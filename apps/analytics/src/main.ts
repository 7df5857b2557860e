import { AuthContract, TransactionsContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { AnalyticsModule } from '@protobank/analytics';

/** The analytics service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'analytics',
  port: SERVICES.analytics.port,
  transport: 'rmq',
  modules: [AnalyticsModule],
  calls: [TransactionsContract, UsersContract, AuthContract],
});
