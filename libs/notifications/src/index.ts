export { NotificationsModule } from './notifications.module';
export { NotificationsConfig, NOTIFICATIONS_VARIABLES } from './notifications.config';
