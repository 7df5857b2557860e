import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ACCOUNTS_API } from '@protobank/contracts';
import { AccountsApiService } from './accounts.api';
import { AdminAccountsController } from './admin/admin-accounts.controller';
import { AccountEntity } from './open/account.entity';
import { AccountsController } from './open/accounts.controller';
import { AccountsService } from './open/accounts.service';
import { StatementService } from './statement/statement.service';
import { accountsConfigProvider } from './accounts.config';

/**
 * Customer accounts: opening, numbers, reading, balances (cached), statements, closing, and staff
 * freezes and overdraft limits. Global so that ACCOUNTS_API, bound here to the local implementation,
 * is injectable anywhere in the monolith; split apps bind the token to a RabbitMQ client instead.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AccountEntity])],
  controllers: [AccountsController, AdminAccountsController],
  providers: [
    accountsConfigProvider,
    AccountsService,
    StatementService,
    AccountsApiService,
    { provide: ACCOUNTS_API, useExisting: AccountsApiService },
  ],
  exports: [ACCOUNTS_API],
})
export class AccountsModule {}
