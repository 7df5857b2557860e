import { AuthContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { NotificationsModule } from '@protobank/notifications';

/** The notifications service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'notifications',
  port: SERVICES.notifications.port,
  transport: 'rmq',
  modules: [NotificationsModule],
  calls: [UsersContract, AuthContract],
});
