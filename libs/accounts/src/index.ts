export { AccountsModule } from './accounts.module';
export { AccountsConfig, ACCOUNTS_VARIABLES } from './accounts.config';
