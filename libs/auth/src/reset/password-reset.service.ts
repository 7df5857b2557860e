import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type StaffActor, type UsersApi } from '@protobank/contracts';
import {
  addressKey,
  AppConfig,
  AppError,
  assertMayActOnOwner,
  type Caller,
  type Limit,
  LOGGER,
  normaliseEmail,
  OutboxRelay,
  OutboxService,
  RateLimiter,
  staffActor,
  StaffGate,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { assertPasswordPolicy } from '../credentials/password-policy';
import { activeCredentialByEmail, activeCredentialById } from '../credentials/credential-lookup';
import { hashPassword, passwordMark } from '../credentials/passwords';
import { DeviceTokens } from '../sessions/device-tokens';
import { SessionStore, type SessionMeta } from '../sessions/session.store';
import { SessionsService, type LoginResult } from '../sessions/sessions.service';
import { ResetMails } from './reset-mails';
import { notResettable, RESET_TOKEN_TTL_SECONDS, ResetTokens, type ResetSender } from './reset-tokens';

type Cap = Omit<Limit, 'key'>;

/**
 * Reset e-mails one address may be sent on asks from anyone: one a minute, ten a day. Counted for every
 * address asked for, with an account or not, so a 429 tells nothing either; the caps bound what anyone
 * can send to a stranger's mailbox. The counters are keyed by the address's SHA-256, so Redis holds no
 * readable list of the addresses asked for (though a known address's digest can be matched).
 */
const PER_ADDRESS: readonly Cap[] = [
  { bucket: 'password-reset-email', limit: 1, windowSeconds: 60 },
  { bucket: 'password-reset-email-day', limit: 10, windowSeconds: 86400 },
];

/**
 * Asks from a device the account knows (its device token sent along) count against that device instead:
 * a stranger who used up the address's ten e-mails of the day does not keep its owner from resetting from
 * their own phone.
 */
const PER_DEVICE: readonly Cap[] = [
  { bucket: 'password-reset-device', limit: 1, windowSeconds: 60 },
  { bucket: 'password-reset-device-day', limit: 5, windowSeconds: 86400 },
];

/**
 * Reset e-mails staff may have sent to one user (requestForUser), whoever asks: one a minute, five a day.
 * Counted apart from the address's self-service asks, which anyone can use up.
 */
const PER_USER_BY_STAFF: readonly Cap[] = [
  { bucket: 'password-reset-by-staff', limit: 1, windowSeconds: 60 },
  { bucket: 'password-reset-by-staff-day', limit: 5, windowSeconds: 86400 },
];

/**
 * Reset e-mails one staff member may send, to anyone: twenty an hour, a hundred a day. Above what a help
 * desk sends; a member sending to customer after customer (each told by a security notice and an e-mail)
 * is stopped, and logged (staff_reset_cap_reached) for an alert.
 */
const PER_SENDER: readonly Cap[] = [
  { bucket: 'password-reset-sent-by', limit: 20, windowSeconds: 3600 },
  { bucket: 'password-reset-sent-by-day', limit: 100, windowSeconds: 86400 },
];

const resetNotOffered = () =>
  AppError.conflict(
    'password_reset_not_offered',
    'Password reset by e-mail is not offered here: ask the bank to reset it',
  );

const tokenInvalid = () =>
  AppError.unprocessable('token_invalid', 'This reset link is not valid: it was used, replaced or expired', [
    { field: 'token', message: 'token is not a current reset token: ask for a new e-mail' },
  ]);

/**
 * "Forgot your password": a reset e-mail (ResetMails sends it) carries a one-time token; presenting it
 * with a new password sets that password, as a change does (every session ends, the devices that knew the
 * old one are forgotten, the owner is told), and answers as a login.
 */
@Injectable()
export class PasswordResetService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly mails: ResetMails,
    private readonly tokens: ResetTokens,
    private readonly devices: DeviceTokens,
    private readonly sessionStore: SessionStore,
    private readonly sessions: SessionsService,
    private readonly limiter: RateLimiter,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly gate: StaffGate,
  ) {}

  /**
   * Hands a reset e-mail to `email` over to ResetMails, which decides whether to send it: the same 202, at
   * about the same time, whether or not an account has that address. 409 where no SMTP server is
   * configured; 429 past the caps: the address's (PER_ADDRESS), or with a device token of the account's,
   * that device's (PER_DEVICE).
   */
  async request(email: string, meta: SessionMeta, deviceToken?: string): Promise<{ expires_in: number }> {
    if (!this.config.smtp.host) throw resetNotOffered();
    const address = normaliseEmail(email);
    const deviceId = deviceToken ? await this.knownDevice(address, deviceToken) : undefined;
    const [caps, key] = deviceId ? [PER_DEVICE, deviceId] : [PER_ADDRESS, addressKey(address)];
    const hit = await this.limiter.hitAll(caps.map((cap) => ({ ...cap, key })));
    if (!hit.allowed) {
      throw AppError.tooManyRequests(
        'rate_limited',
        deviceId
          ? 'A reset e-mail was asked from this device too recently: check the inbox, or try again later'
          : 'A reset e-mail was asked for this address too recently: check the inbox, or try again later',
        hit.retryAfter,
      );
    }
    this.mails.post(address);
    this.logger.info(
      { security_event: 'password_reset_requested', ip: meta.ip, known_device: !!deviceId },
      'password reset asked for',
    );
    return { expires_in: RESET_TOKEN_TTL_SECONDS };
  }

  /**
   * The device id when `deviceToken` was issued to the account of `address` under its current password;
   * the credential is read whether or not one exists, as a login does, so the time tells nothing.
   */
  private async knownDevice(address: string, deviceToken: string): Promise<string | undefined> {
    return this.devices.knownDevice(deviceToken, await activeCredentialByEmail(this.dataSource, address));
  }

  /**
   * Sets a new password with a reset token. 422 token_invalid for a token that is not the user's current
   * one (used, replaced by a newer e-mail, expired, issued before the password last changed or before a
   * revocation of the user's sessions: a disable, a role change, a logout-all); 400 weak_password naming
   * new_password (the token stays usable). The token is
   * used up only once the new password is hashed, and of two uses at once only one sets a password; a
   * database failure while setting it gives the token back for the time it had left.
   */
  async confirm(token: string, newPassword: string, meta: SessionMeta): Promise<LoginResult> {
    const reset = await this.tokens.find(token);
    const refused = (reason: string) => {
      this.logger.info(
        { security_event: 'password_reset_token_invalid', reason, user_id: reset?.userId, ip: meta.ip },
        'password reset refused: not a current token',
      );
      return tokenInvalid();
    };
    if (!reset) throw refused('unknown');
    const { userId } = reset;
    const credential = await activeCredentialById(this.dataSource, userId);
    const stale = !credential
      ? 'no_account'
      : passwordMark(credential.password_hash) !== reset.password
        ? 'password_changed'
        : (await this.sessionStore.generation(userId)) !== reset.generation
          ? 'sessions_revoked' // disabled, made staff, or logged out everywhere since the e-mail
          : await this.notResettableNow(userId, reset.sentBy);
    if (stale || !credential) {
      await this.tokens.discard(userId);
      throw refused(stale ?? 'no_account');
    }
    assertPasswordPolicy(newPassword, credential.email, 'new_password');
    const hash = await hashPassword(newPassword);
    const left = await this.tokens.consume(reset);
    if (!left) throw refused('used');
    let replaced: boolean;
    try {
      // Over the hash the token was checked against: a change in between (its owner remembered it) wins.
      replaced = await this.sessions.replacePassword(userId, credential.password_hash, hash, 'reset');
    } catch (err) {
      // Nothing was set (the database failed), so the link works again. Had the change committed and only
      // its answer been lost, the token no longer matches the password and is refused as stale.
      await this.tokens.restore(reset, left).catch(() => undefined);
      throw err;
    }
    if (!replaced) throw refused('password_changed');
    this.logger.warn(
      { security_event: 'password_reset', user_id: userId, ip: meta.ip },
      'password reset with an e-mailed token',
    );
    return this.sessions.sessionAfterPasswordChange(userId, hash, meta, 'reset', !reset.sentBy);
  }

  /**
   * Why the account takes no reset now, if it does not: disabled, or staff on their own asking; and for an
   * e-mail a staff member had sent, when the sender may no longer ask it (disabled, demoted or logged out
   * everywhere since, even if restored, or a staff member's e-mail to an account made staff since): a rogue
   * sender, once stopped, leaves no working link behind.
   */
  private async notResettableNow(
    userId: string,
    sentBy: ResetSender | undefined,
  ): Promise<'disabled' | 'staff' | 'sender_revoked' | undefined> {
    const profile = await this.users.getProfile(userId);
    const refusal = notResettable(profile, !!sentBy);
    if (refusal || !sentBy) return refusal;
    // Any disable, role change or logout-all of the sender since, even undone: a suspension ends the link.
    if ((await this.sessionStore.generation(sentBy.userId)) !== sentBy.generation) return 'sender_revoked';
    // A failure to read the sender fails the confirm (the link stays usable), rather than ending the link.
    const sender = await this.users.getProfile(sentBy.userId);
    const senderMay =
      !sender.disabled &&
      (sender.role === 'admin' || (sender.role === 'staff' && profile.role === 'customer'));
    return senderMay ? undefined : 'sender_revoked';
  }

  /**
   * A staff member or an admin has a reset e-mail sent on a user's behalf, once they have identified them by
   * other means (a call, a branch): a customer who cannot ask themselves (an address never verified, or an
   * address's e-mails of the day used up by strangers), or, by an admin only, a colleague (a staff member or
   * another admin), whose password is never reset by e-mail on their own asking since the mailbox alone
   * would then hold the role. The e-mail goes to the address the account has (the staff member confirms it
   * with the customer; a colleague's must be verified); it and its token are a self-service reset's (the
   * link stops working if the sender is disabled or demoted before it is used), its caps are its own
   * (PER_USER_BY_STAFF), and the action is audited (password_reset_requested, with the reason). Never for
   * oneself (403 own_user: POST /auth/password), never for a colleague by a staff member (403
   * colleague_account), nor for a disabled account (409 user_disabled).
   */
  async requestForUser(caller: Caller, userId: string, reason: string): Promise<{ expires_in: number }> {
    const actor = staffActor(caller);
    // No change of the actor's or the user's role or access lands while this runs (StaffGate).
    return this.gate.act(caller, async (pass) => {
      await pass.owners([userId]);
      return this.sendForUser(actor, userId, reason);
    });
  }

  private async sendForUser(
    actor: StaffActor,
    userId: string,
    reason: string,
  ): Promise<{ expires_in: number }> {
    if (userId === actor.user_id) {
      throw new AppError(
        403,
        'own_user',
        'Staff cannot have their own password reset: change it with POST /auth/password',
      ).logged({ security_event: 'own_user_refused', actor_id: actor.user_id });
    }
    // Read before the actor is checked: a disable or demotion of theirs racing this ends the link it sends.
    const senderGeneration = await this.sessionStore.generation(actor.user_id);
    // The actor as the users module has them now: a token minted before a demotion or a disable is refused.
    const me = await this.users.getProfile(actor.user_id);
    if (me.role !== actor.role || me.disabled) {
      throw new AppError(403, 'forbidden', 'Your role does not allow this');
    }
    const credential = await activeCredentialById(this.dataSource, userId);
    if (!credential) throw AppError.notFound('user', 'id');
    const profile = await this.users.getProfile(userId);
    assertMayActOnOwner(actor, profile.role);
    if (profile.disabled) {
      throw AppError.conflict('user_disabled', 'The account is disabled: enable it first');
    }
    if (profile.role !== 'customer' && credential.email_verified_at === null) {
      throw AppError.conflict(
        'email_not_verified',
        "A colleague's e-mail address must be verified first (POST /auth/email/verification)",
      );
    }
    // After who may ask for whom (403, 404): that is the answer whatever the mail setup
    // (helper-121 was told 409 for their own id and an admin's).
    if (!this.config.smtp.host) throw resetNotOffered();
    // Its own caps, by user: strangers using up the address's self-service asks do not hold staff up.
    // Checked first: copies of one ask (a double click, a retrying client) stop here, before they count
    // against the sender's own budget.
    const hit = await this.limiter.hitAll(PER_USER_BY_STAFF.map((cap) => ({ ...cap, key: userId })));
    if (!hit.allowed) {
      throw AppError.tooManyRequests(
        'rate_limited',
        "Staff asked for this user's reset e-mail too recently: ask them to check their inbox",
        hit.retryAfter,
      );
    }
    const sender = await this.limiter.hitAll(PER_SENDER.map((cap) => ({ ...cap, key: actor.user_id })));
    if (!sender.allowed) {
      await this.limiter.releaseAll(hit.taken);
      this.logger.warn(
        { security_event: 'staff_reset_cap_reached', actor_id: actor.user_id, user_id: userId },
        'a staff member reached their cap on reset e-mails',
      );
      throw AppError.tooManyRequests(
        'rate_limited',
        'You have sent as many reset e-mails as one staff member may for now: ask an admin',
        sender.retryAfter,
      );
    }
    // The audit entry, and the notice that tells the user at once on every channel they have, together.
    await this.dataSource.transaction(async (m) => {
      await this.outbox.add(m, 'auth', 'staff_action.recorded', {
        action: 'password_reset_requested',
        actor_id: actor.user_id,
        actor_role: actor.role,
        target_user_id: userId,
        resource_type: 'user',
        resource_id: userId,
        before: null,
        after: null,
        reason,
      });
      await this.outbox.add(m, 'auth', 'user.password_reset_requested', { user_id: userId });
    });
    this.relay.kickSoon();
    this.mails.post(credential.email, { userId: actor.user_id, generation: senderGeneration });
    this.logger.warn(
      { security_event: 'password_reset_sent_by_staff', actor_id: actor.user_id, user_id: userId },
      "password reset e-mail on a staff member's request",
    );
    return { expires_in: RESET_TOKEN_TTL_SECONDS };
  }
}
