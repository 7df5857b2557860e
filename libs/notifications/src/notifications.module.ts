import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationEntity } from './store/notification.entity';
import { WelcomeHandler } from './welcome/welcome.handler';

@Module({
  imports: [TypeOrmModule.forFeature([NotificationEntity])],
  providers: [WelcomeHandler],
})
export class NotificationsModule {}
