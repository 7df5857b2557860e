export { AuthModule } from './auth.module';
export { AuthConfig, AUTH_VARIABLES } from './auth.config';
