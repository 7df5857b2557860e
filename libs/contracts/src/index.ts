export * from './contract';
export * from './events';
export * from './users/users.contract';
