import { runApp, SERVICES } from '@protobank/platform';
import { AccountsModule } from '@protobank/accounts';

/** The accounts service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'accounts',
  port: SERVICES.accounts.port,
  transport: 'rmq',
  modules: [AccountsModule],
});
