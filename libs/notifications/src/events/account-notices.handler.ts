import { Controller, Inject } from '@nestjs/common';
import {
  USERS_API,
  type KycRejectedEvent,
  type KycVerifiedEvent,
  type UserLockedOutEvent,
  type UserContactChangedEvent,
  type UserNewDeviceSignInEvent,
  type UserPasswordChangedEvent,
  type UserPasswordResetRequestedEvent,
  type UserRegisteredEvent,
  type UserSessionEndedEvent,
  type UsersApi,
} from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import {
  contactChangedDraft,
  kycRejectedDraft,
  kycVerifiedDraft,
  lockedOutDraft,
  passwordResetRequestedDraft,
  newDeviceSignInDraft,
  passwordChangedDraft,
  sessionEndedDraft,
  welcomeDraft,
} from '../compose/messages';
import { Notifier } from '../compose/notifier';
import { EmailChannel } from '../delivery/channels/email.channel';

/**
 * Notices about the customer's relationship with the bank: welcome, the outcome of KYC, and security
 * notices (a password change, a changed phone number or address, a sign-in from a new device, a lockout
 * after wrong passwords, a session ended for a reused token).
 */
@Controller()
export class AccountNoticesHandler {
  constructor(
    private readonly inbox: InboxService,
    private readonly notifier: Notifier,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly email: EmailChannel,
  ) {}

  @OnEvent('user.registered')
  async onUserRegistered(event: UserRegisteredEvent): Promise<void> {
    const consumer = 'WelcomeHandler.onUserRegistered'; // the name inbox rows already carry
    if (await this.inbox.seen('notifications', consumer, event.event_id)) return;
    const profile = await this.users.getProfile(event.user_id);
    await this.notifier.notify(consumer, event.event_id, [
      // The e-mail channel's own rule for whether it can send (SMTP_HOST), as deliveries use it.
      welcomeDraft(event, profile.full_name, this.email.unavailable() === undefined),
    ]);
  }

  @OnEvent('kyc.verified')
  async onKycVerified(event: KycVerifiedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onKycVerified', event.event_id, [
      kycVerifiedDraft(event),
    ]);
  }

  @OnEvent('kyc.rejected')
  async onKycRejected(event: KycRejectedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onKycRejected', event.event_id, [
      kycRejectedDraft(event),
    ]);
  }

  @OnEvent('user.password_changed')
  async onPasswordChanged(event: UserPasswordChangedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onPasswordChanged', event.event_id, [
      passwordChangedDraft(event),
    ]);
  }

  @OnEvent('user.password_reset_requested')
  async onPasswordResetRequested(event: UserPasswordResetRequestedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onPasswordResetRequested', event.event_id, [
      passwordResetRequestedDraft(event),
    ]);
  }

  @OnEvent('user.contact_changed')
  async onContactChanged(event: UserContactChangedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onContactChanged', event.event_id, [
      contactChangedDraft(event),
    ]);
  }

  @OnEvent('user.locked_out')
  async onLockedOut(event: UserLockedOutEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onLockedOut', event.event_id, [lockedOutDraft(event)]);
  }

  @OnEvent('user.new_device_sign_in')
  async onNewDeviceSignIn(event: UserNewDeviceSignInEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onNewDeviceSignIn', event.event_id, [
      newDeviceSignInDraft(event),
    ]);
  }

  @OnEvent('user.session_ended')
  async onSessionEnded(event: UserSessionEndedEvent): Promise<void> {
    await this.notifier.notify('AccountNoticesHandler.onSessionEnded', event.event_id, [
      sessionEndedDraft(event),
    ]);
  }
}
