import { UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { UsersModule } from '@protobank/users';

/** The users service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'users',
  port: SERVICES.users.port,
  transport: 'rmq',
  modules: [UsersModule],
  serves: [UsersContract],
});
