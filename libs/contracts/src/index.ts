export * from './contract';
export * from './events';
export * from './users/users.contract';
export * from './users/user.dto';
