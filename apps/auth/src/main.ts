import { AuthContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { AuthModule } from '@protobank/auth';

/** The auth service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'auth',
  port: SERVICES.auth.port,
  transport: 'rmq',
  modules: [AuthModule],
  serves: [AuthContract],
  calls: [UsersContract],
});
