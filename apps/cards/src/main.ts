import { AuthContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { CardsModule } from '@protobank/cards';

/** The cards service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'cards',
  port: SERVICES.cards.port,
  transport: 'rmq',
  modules: [CardsModule],
  calls: [AuthContract],
});
