export { PaymentsModule } from './payments.module';
export { PaymentsConfig, PAYMENTS_VARIABLES } from './payments.config';
