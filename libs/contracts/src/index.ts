export * from './contract';
export * from './events';
export * from './users/users.contract';
export * from './users/user.dto';
export * from './money';
export * from './accounts/accounts.contract';
export * from './accounts/balance-cache';
export * from './transactions/transactions.contract';
