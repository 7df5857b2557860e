import { Inject, Injectable } from '@nestjs/common';
import { PhoneVerification } from '../../phone/phone-verification.service';
import type { DeliveryChannel, Outgoing, SendResult } from './channel';
import { PUSH_PROVIDER, SMS_PROVIDER, type PushProvider, type SmsProvider } from './providers';

@Injectable()
export class SmsChannel implements DeliveryChannel {
  readonly name = 'sms' as const;
  readonly needsContact = true;

  constructor(
    @Inject(SMS_PROVIDER) private readonly provider: SmsProvider,
    private readonly phones: PhoneVerification,
  ) {}

  unavailable(): string | undefined {
    return this.provider.configured ? undefined : 'sms is not configured (SMS_WEBHOOK_URL)';
  }

  /**
   * Only to a number its owner proved they read (POST /notifications/phone/verification): anyone can type
   * a stranger's number into a profile. That is the profile's number once verified; a security notice
   * also goes to the number last verified when the profile's has changed or gone since (a new number
   * is unverified), because "your phone number was changed" is for the phone the owner still holds: one
   * who took over the session changes the number first.
   */
  async send({ delivery_id, user_id, notification, contact }: Outgoing): Promise<SendResult> {
    if (!contact) return { status: 'skipped', reason: 'no such user' };
    const verified = await this.phones.verifiedNumber(user_id);
    const to =
      contact.phone && contact.phone === verified
        ? contact.phone
        : notification.category === 'security'
          ? verified
          : null;
    if (!to) {
      const reason = contact.phone ? 'phone number not verified' : 'no phone number on the profile';
      return { status: 'skipped', reason };
    }
    await this.provider.send({ id: delivery_id, to, text: notification.body });
    return { status: 'sent' };
  }
}

@Injectable()
export class PushChannel implements DeliveryChannel {
  readonly name = 'push' as const;
  // Not for an address (the provider maps the user id to devices): to skip a disabled user's devices.
  readonly needsContact = true;

  constructor(@Inject(PUSH_PROVIDER) private readonly provider: PushProvider) {}

  unavailable(): string | undefined {
    return this.provider.configured ? undefined : 'push is not configured (PUSH_WEBHOOK_URL)';
  }

  async send({ delivery_id, user_id, notification }: Outgoing): Promise<SendResult> {
    await this.provider.send({
      id: delivery_id,
      user_id,
      title: notification.title,
      body: notification.body,
      data: { notification_id: notification.id, type: notification.type, ...notification.data },
    });
    return { status: 'sent' };
  }
}
