import { runApp, SERVICES } from '@protobank/platform';
import { AnalyticsModule } from '@protobank/analytics';

/** The analytics service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'analytics',
  port: SERVICES.analytics.port,
  transport: 'rmq',
  modules: [AnalyticsModule],
});
