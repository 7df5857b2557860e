import { UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { NotificationsModule } from '@protobank/notifications';

/** The notifications service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'notifications',
  port: SERVICES.notifications.port,
  transport: 'rmq',
  modules: [NotificationsModule],
  calls: [UsersContract],
});
