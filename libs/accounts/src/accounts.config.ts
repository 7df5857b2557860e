import { type ConfigSchema, type ConfigValues, configProvider } from '@protobank/platform';

/** The variables the accounts module reads, with their defaults and meaning (README's configuration table). */
export const ACCOUNTS_VARIABLES = {
  MAX_OVERDRAFT_LIMIT: {
    kind: 'int',
    min: 0,
    max: 1000000000000000,
    default: '10000000',
    doc: 'Largest overdraft limit staff may set on an account, in minor units.',
  },
  MAX_ACCOUNTS_PER_CUSTOMER: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '10',
    doc: 'Open accounts one customer may hold.',
  },
} as const satisfies ConfigSchema;

/** The accounts module's configuration. Read once when an app hosting the module boots (configProvider). */
export class AccountsConfig {
  static readonly variables = ACCOUNTS_VARIABLES;

  readonly maxOverdraftLimit: number;
  readonly maxAccountsPerCustomer: number;

  constructor(v: ConfigValues<typeof ACCOUNTS_VARIABLES>) {
    this.maxOverdraftLimit = Number(v.MAX_OVERDRAFT_LIMIT);
    this.maxAccountsPerCustomer = Number(v.MAX_ACCOUNTS_PER_CUSTOMER);
  }
}

/** Provides AccountsConfig to the module's classes. */
export const accountsConfigProvider = configProvider(AccountsConfig);
