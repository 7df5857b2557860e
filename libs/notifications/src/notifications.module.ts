import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { inboxFor, outboxFor } from '@protobank/platform';
import { QueuesModule } from '@protobank/platform/queues';
import { Notifier } from './compose/notifier';
import { DELIVERY_CHANNELS, type DeliveryChannel } from './delivery/channels/channel';
import { EmailChannel } from './delivery/channels/email.channel';
import { InAppChannel } from './delivery/channels/in-app.channel';
import { PushChannel, SmsChannel } from './delivery/channels/provider.channels';
import {
  PUSH_PROVIDER,
  SMS_PROVIDER,
  WebhookPushProvider,
  WebhookSmsProvider,
} from './delivery/channels/providers';
import { WebhookClient } from './delivery/channels/webhook';
import { DeliveryQueue } from './delivery/delivery-queue';
import { DeliveryProcessor } from './delivery/delivery.processor';
import { InAppNow } from './delivery/in-app-now';
import { FailedDeliveriesController } from './delivery/failed-deliveries.controller';
import { FailedDeliveriesService } from './delivery/failed-deliveries.service';
import { NotificationQueues } from './delivery/queues';
import { AccountNoticesHandler } from './events/account-notices.handler';
import { CardNoticesHandler } from './events/card-notices.handler';
import { EmailVerifiedHandler, VerifiedEmails } from './email/verified-emails';
import { PaymentNoticesHandler } from './events/payment-notices.handler';
import { TransactionNoticesHandler } from './events/transaction-notices.handler';
import { PhoneVerificationController } from './phone/phone-verification.controller';
import { PhoneVerification } from './phone/phone-verification.service';
import { PreferencesController } from './preferences/preferences.controller';
import { PreferencesService } from './preferences/preferences.service';
import { NotificationEntity } from './store/notification.entity';
import { NotificationsController } from './store/notifications.controller';
import { NotificationsService } from './store/notifications.service';
import { StreamController } from './stream/stream.controller';
import { StreamHub } from './stream/stream-hub';
import { NotificationsConfig, NotificationsConfigModule } from './notifications.config';

/**
 * Notifications: events in (transactions, payments, registration, KYC), stored notifications and preferences, and
 * delivery per channel: the in-app stream at once after commit (InAppNow), e-mail, SMS and push through a
 * BullMQ queue with retries (@nestjs/bullmq: its queues are in delivery/queues.ts), which also takes an
 * in-app push that failed.
 */
@Module({
  imports: [
    QueuesModule,
    TypeOrmModule.forFeature([NotificationEntity]),
    NotificationsConfigModule,
    BullModule.registerQueueAsync({
      name: NotificationQueues.deliveries,
      imports: [NotificationsConfigModule],
      inject: [NotificationsConfig],
      // Retries back off exponentially: NOTIFICATION_RETRY_DELAY_MS, then twice that, and so on,
      // NOTIFICATION_DELIVERY_ATTEMPTS tries in all.
      useFactory: (config: NotificationsConfig) => ({
        defaultJobOptions: {
          attempts: config.notificationDeliveryAttempts,
          backoff: { type: 'exponential', delay: config.notificationRetryDelayMs },
          // The delivery row keeps the outcome; finished jobs would only fill Redis.
          removeOnComplete: true,
          removeOnFail: true,
        },
      }),
    }),
  ],
  controllers: [
    PreferencesController,
    PhoneVerificationController,
    StreamController,
    NotificationsController,
    FailedDeliveriesController,
    // Event handlers: Nest finds @EventPattern (our @OnEvent) on controllers only.
    TransactionNoticesHandler,
    AccountNoticesHandler,
    PaymentNoticesHandler,
    CardNoticesHandler,
    EmailVerifiedHandler,
  ],
  providers: [
    inboxFor('notifications'),
    // Staff actions (a delivery retried) go to the audit trail as staff_action.recorded.
    outboxFor('notifications'),
    NotificationsService,
    PreferencesService,
    PhoneVerification,
    VerifiedEmails,
    Notifier,
    DeliveryQueue,
    InAppNow,
    DeliveryProcessor,
    FailedDeliveriesService,
    StreamHub,
    WebhookClient,
    { provide: SMS_PROVIDER, useClass: WebhookSmsProvider },
    { provide: PUSH_PROVIDER, useClass: WebhookPushProvider },
    InAppChannel,
    EmailChannel,
    SmsChannel,
    PushChannel,
    {
      provide: DELIVERY_CHANNELS,
      useFactory: (...channels: DeliveryChannel[]) => channels,
      inject: [InAppChannel, EmailChannel, SmsChannel, PushChannel],
    },
  ],
})
export class NotificationsModule {}
