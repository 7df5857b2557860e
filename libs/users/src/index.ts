export { UsersModule } from './users.module';
export { UsersConfig, USERS_VARIABLES } from './users.config';
