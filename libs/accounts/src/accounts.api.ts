import { Injectable } from '@nestjs/common';
import type { AccountsApi } from '@protobank/contracts';
import { AccountsService } from './open/accounts.service';

/** The accounts module's facade: what other modules may call (ACCOUNTS_API), in-process or over RabbitMQ. */
@Injectable()
export class AccountsApiService implements AccountsApi {
  constructor(private readonly accounts: AccountsService) {}

  resolveNumber(accountNumber: string): Promise<{ account_id: string }> {
    return this.accounts.resolveNumber(accountNumber);
  }
}
