import { runApp, SERVICES } from '@protobank/platform';
import { CardsModule } from '@protobank/cards';

/** The cards service on its own: HTTP routes plus its contract over RabbitMQ. */
void runApp({
  service: 'cards',
  port: SERVICES.cards.port,
  transport: 'rmq',
  modules: [CardsModule],
});
