import { UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { AuthModule } from '@protobank/auth';

/** The auth service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'auth',
  port: SERVICES.auth.port,
  transport: 'rmq',
  modules: [AuthModule],
  calls: [UsersContract],
});
