import { defineContract } from '../contract';

export interface AccountsApi {
  /** The account with this 8-digit number at our sort code. 404 when there is none. */
  resolveNumber(accountNumber: string): Promise<{ account_id: string }>;
}

export const ACCOUNTS_API = Symbol('ACCOUNTS_API');

export const AccountsContract = defineContract<AccountsApi>({
  service: 'accounts',
  token: ACCOUNTS_API,
  patterns: { resolveNumber: 'accounts.resolve-number' },
});
