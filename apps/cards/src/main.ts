import { AuthContract, TransactionsContract, UsersContract } from '@protobank/contracts';
import { runApp, SERVICES } from '@protobank/platform';
import { CardsModule } from '@protobank/cards';

/** The cards service as its own process: its HTTP routes, and contracts and events over RabbitMQ. */
void runApp({
  service: 'cards',
  port: SERVICES.cards.port,
  transport: 'rmq',
  modules: [CardsModule],
  // auth: passwords checked again for reveals; users: the profile name for the card; the ledger: accounts.
  calls: [AuthContract, UsersContract, TransactionsContract],
});
