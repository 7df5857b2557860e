export { TransactionsModule } from './transactions.module';
export { TransactionsConfig, TRANSACTIONS_VARIABLES } from './transactions.config';
