import { runApp, SERVICES } from '@protobank/platform';
import { PaymentsModule } from '@protobank/payments';

/** The payments service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'payments',
  port: SERVICES.payments.port,
  transport: 'rmq',
  modules: [PaymentsModule],
});
