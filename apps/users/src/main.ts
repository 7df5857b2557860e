import { AuthContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { UsersModule } from '@protobank/users';

/** The users service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'users',
  port: SERVICES.users.port,
  transport: 'rmq',
  modules: [UsersModule],
  serves: [UsersContract],
  calls: [AuthContract],
});
