import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type EventInput, type UserLockedOutEvent, type UsersApi } from '@protobank/contracts';
import {
  addressKey,
  AppError,
  LOGGER,
  normaliseEmail,
  OutboxRelay,
  OutboxService,
  RateLimiter,
  type Role,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { assertPasswordPolicy } from '../credentials/password-policy';
import { activeCredentialByEmail, activeCredentialById } from '../credentials/credential-lookup';
import { checkPassword, hashPassword, normalised } from '../credentials/passwords';
import { DeviceTokens } from './device-tokens';
import { SessionStore, type SessionMeta } from './session.store';
import { TokenIssuer, type TokenPair } from './token-issuer';
import { AuthConfig } from '../auth.config';

export interface LoginResult extends TokenPair {
  /** Present it at this client's next logins: they are then not subject to the e-mail's lockout. */
  device_token: string;
  /** Until when this session is held after a password reset by e-mail (assertNoResetHold). */
  reset_hold_until?: string;
}

const badCredentials = () => new AppError(401, 'invalid_credentials', 'Wrong e-mail or password');
const accountDisabled = () => new AppError(403, 'account_disabled', 'This account has been disabled');
const accountLocked = (seconds: number) =>
  AppError.tooManyRequests('account_locked', 'Too many failed logins', seconds);
/** As many logins as may fail before the lock are being checked right now: this one was not checked. */
const attemptsInFlight = () =>
  AppError.tooManyRequests('login_busy', 'Other logins to this account are being checked', 1);

/**
 * Whose failures a login attempt counts against, and which lock it obeys: a device the account already
 * knows answers for itself; every other client (a stranger, or the owner on a new device) shares the
 * e-mail's. The bucket names of the e-mail scope are those the lockout always had. A password change
 * counts against its user (passwordChangeScope).
 */
interface LockScope {
  lock: string;
  failures: string;
  key: string;
}
/** The e-mail's lockout, keyed by the address's hash (no address in plain text in Redis). */
const emailScope = (who: string): LockScope => ({
  lock: 'login',
  failures: 'login-failures',
  key: addressKey(who),
});
const deviceScope = (deviceId: string): LockScope => ({
  lock: 'login-device',
  failures: 'login-device-failures',
  key: deviceId,
});

/**
 * Wrong passwords a signed-in user re-enters (POST /auth/password, a card reveal) count per user, and lock
 * both for them (passwordReentered). The names stay those of the password change, which came first.
 */
const passwordChangeScope = (userId: string): LockScope => ({
  lock: 'password-change',
  failures: 'password-change-failures',
  key: userId,
});

/** Sessions created with a stale generation are refused; a login retries this often before giving up. */
const CREATE_ATTEMPTS = 3;
/** A user hears of lockouts of one kind, or of sessions ended for reused tokens, at most once in this long. */
const SECURITY_NOTICE_SECONDS = 24 * 3600;
/** Password changes told per user in SECURITY_NOTICE_SECONDS. */
const PASSWORD_CHANGE_NOTICES = 5;
/** Sign-ins from new devices told per user in SECURITY_NOTICE_SECONDS. */
const NEW_DEVICE_NOTICES = 5;
/** Sign-ins this soon after an account's first count as that first one (not told). */
const FIRST_SIGN_IN_SECONDS = 60;
/** How a password was changed: with the current one (POST /auth/password), or with a reset e-mail's token. */
export type PasswordChange = 'password' | 'reset';
type SecurityNotice = 'user.locked_out' | 'user.session_ended' | 'user.new_device_sign_in';

@Injectable()
export class SessionsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly sessions: SessionStore,
    private readonly devices: DeviceTokens,
    private readonly tokens: TokenIssuer,
    private readonly limiter: RateLimiter,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    private readonly config: AuthConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Same answer and about the same time for an unknown e-mail and a wrong password. Brute force is
   * stopped without handing strangers a way to lock the owner out:
   *  - from a client without a device token of this account, LOGIN_MAX_FAILURES failures for one e-mail
   *    (known or not, so locking reveals nothing) lock that e-mail for LOGIN_LOCKOUT_SECONDS for every
   *    such client: 429 with Retry-After, whatever the password;
   *  - a client presenting a device token this account was issued at an earlier successful login is not
   *    subject to that lock: its failures count against its device token, which locks on its own.
   * The per-IP rate limit of the route applies to both.
   */
  async login(
    email: string,
    password: string,
    meta: SessionMeta,
    deviceToken?: string,
  ): Promise<LoginResult> {
    // The one form registration stored (the DTO gives it already; any other caller gets it here too).
    const who = normaliseEmail(email);
    const credential = await activeCredentialByEmail(this.dataSource, who);
    const deviceId = await this.devices.knownDevice(deviceToken, credential);
    const scope = deviceId ? deviceScope(deviceId) : emailScope(who);
    const context = {
      ip: meta.ip,
      user_id: credential?.user_id,
      device_id: deviceId,
      known_device: !!deviceId,
    };
    const check = await this.checkUnderLockout(scope, credential?.password_hash, password, {
      locked: accountLocked,
      busy: attemptsInFlight,
    });
    // A match implies a credential (an unknown e-mail is checked against a dummy hash, never a match).
    if (!check.matches || !credential) {
      this.logger.info({ security_event: 'login_failed', ...context }, 'login failed');
      if (check.locked) {
        this.logger.warn(
          {
            security_event: 'login_lockout',
            lock_scope: scope.lock === 'login' ? 'email' : 'device',
            ...context,
          },
          'login locked after repeated failures',
        );
        if (credential) this.tellLockedOut(credential.user_id, deviceId ? 'device' : 'login');
      }
      throw badCredentials();
    }
    const userId = credential.user_id;
    const opened = await this.openSession(userId, meta, credential.password_hash);
    let device: { deviceId: string; token: string };
    if (deviceId) {
      await this.devices.renew(deviceId);
      device = { deviceId, token: deviceToken! };
    } else {
      device = await this.devices.issue(userId, credential.password_hash);
      if (!(await this.firstSignIn(userId, credential.first_signed_in_at))) this.tellNewDevice(userId);
    }
    this.logger.info(
      { user_id: userId, session_id: opened.sid, device_id: device.deviceId, known_device: !!deviceId },
      'login',
    );
    return this.loginAnswer(userId, opened, device.token);
  }

  /**
   * Reads the profile (disabled? which role?) and opens a session, unless the user's sessions were revoked
   * in between (disabled, role or password changed): then it reads the profile again, so no session
   * outlives a revocation and none carries a role from before it. `checked` is the password hash the login
   * was checked against: still the user's after the generation is read, or the password changed (and the
   * sessions were revoked) since, and a login with the old one opens none.
   */
  private async openSession(userId: string, meta: SessionMeta, checked: string, customerOnly = false) {
    for (let attempt = 1; ; attempt++) {
      const generation = await this.sessions.generation(userId);
      const current = await activeCredentialById(this.dataSource, userId);
      if (current?.password_hash !== checked) throw badCredentials();
      const profile = await this.users.getProfile(userId);
      if (profile.disabled) throw accountDisabled();
      // A reset by e-mail is for customers: one promoted meanwhile gets no session from it.
      if (customerOnly && profile.role !== 'customer') throw badCredentials();
      const holdUntil = this.resetHoldUntil(current.password_reset_at);
      const created = await this.sessions.create(userId, profile.role, meta, generation, holdUntil);
      if (created) return { ...created, role: profile.role, holdUntil };
      if (attempt === CREATE_ATTEMPTS)
        throw new AppError(503, 'try_again', 'The account is being changed; try again');
    }
  }

  private loginAnswer(
    userId: string,
    opened: { sid: string; refreshToken: string; role: Role; holdUntil?: Date },
    deviceToken: string,
  ): LoginResult {
    return {
      ...this.tokens.pair(userId, opened.role, opened.sid, opened.refreshToken),
      device_token: deviceToken,
      ...(opened.holdUntil && { reset_hold_until: opened.holdUntil.toISOString() }),
    };
  }

  /** Until when a session opened now is held after the password's reset by e-mail at `resetAt`, if it is. */
  private resetHoldUntil(resetAt: Date | null): Date | undefined {
    if (!resetAt) return undefined;
    const until = new Date(resetAt.getTime() + this.config.passwordResetHoldHours * 3_600_000);
    return until.getTime() > Date.now() ? until : undefined;
  }

  /**
   * Changes the caller's password. The current one is checked again (401 invalid_password naming
   * current_password; LOGIN_MAX_FAILURES wrong ones lock the route for the user for LOGIN_LOCKOUT_SECONDS,
   * 429 rate_limited, so a stolen access token cannot be used to guess it); the new one passes the
   * registration policy and differs from it (400 naming new_password). Then every session of the user
   * ends, this one included, and the devices that knew the old password are forgotten (their tokens no
   * longer exempt a login from the e-mail's lockout); the answer is a new session and device token, as a
   * login's. A login checked against the old password that has not opened its session yet opens none.
   */
  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    meta: SessionMeta,
  ): Promise<LoginResult> {
    const credential = await activeCredentialById(this.dataSource, userId);
    if (!credential) throw new AppError(401, 'unauthorized', 'Log in again');
    if (!(await this.passwordReentered(userId, credential.password_hash, currentPassword, meta.ip))) {
      throw new AppError(401, 'invalid_password', 'The current password is not right', [
        { field: 'current_password', message: 'not your current password' },
      ]);
    }
    // The same password in another spelling (NFKC, as it is hashed) is the same password.
    if (normalised(newPassword) === normalised(currentPassword)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: new_password', [
        { field: 'new_password', message: 'new_password must differ from the current password' },
      ]);
    }
    assertPasswordPolicy(newPassword, credential.email, 'new_password');
    const hash = await hashPassword(newPassword);
    if (!(await this.replacePassword(userId, credential.password_hash, hash))) {
      throw AppError.conflict('password_changed', 'The password was changed meanwhile: log in again');
    }
    return this.sessionAfterPasswordChange(userId, hash, meta);
  }

  /**
   * Sets the password hash `next` over `checked`, the one the caller checked (of two changes at once, the
   * second finds it gone: false, nothing changed), with the event that tells the customer, in one
   * statement. PASSWORD_CHANGE_NOTICES a day, since the e-mail address is not verified and an account made
   * with a stranger's could mail them at every change (without Redis, told: a notice too many rather than a
   * change untold). `via` says how the change was made: the owner's current password, or a reset e-mail.
   */
  async replacePassword(
    userId: string,
    checked: string,
    next: string,
    via: PasswordChange = 'password',
  ): Promise<boolean> {
    const noticeKey = `password-changed:${userId}`;
    const tell = await this.limiter.allowsFailingOpen(
      'security-notice',
      noticeKey,
      PASSWORD_CHANGE_NOTICES,
      SECURITY_NOTICE_SECONDS,
    );
    // A reset by e-mail also starts the hold on the sessions after it (openSession).
    const update = `UPDATE auth.credentials SET password_hash = $3, password_changed_at = now()
        ${via === 'reset' ? ', password_reset_at = now()' : ''}
        WHERE user_id = $1 AND password_hash = $2 AND status = 'active' RETURNING user_id`;
    const hours = this.config.passwordResetHoldHours;
    const params = [userId, checked, next];
    const changed = tell
      ? await this.outbox.addIfChanged(this.dataSource.manager, 'auth', update, params, {
          name: 'user.password_changed',
          input: {
            user_id: userId,
            ...(via === 'reset' && { via }),
            ...(via === 'reset' &&
              hours > 0 && { held_until: new Date(Date.now() + hours * 3_600_000).toISOString() }),
          },
        })
      : // An UPDATE ... RETURNING comes back from TypeORM as [rows, count].
        ((await this.dataSource.query(update, params)) as [unknown[], number])[0].length > 0;
    if (!changed) {
      if (tell) await this.limiter.release('security-notice', noticeKey).catch(() => undefined);
      return false;
    }
    if (tell) this.relay.kickSoon();
    return true;
  }

  /**
   * After replacePassword: every session of the user ends (one opened in between, by a login with the old
   * password, ends too), tried again before the caller is told they may not have; then a new session and
   * device token are opened for the caller, answered as a login's. The devices that knew the old password
   * are forgotten already: their tokens were bound to its hash. `customerOnly` (a reset the user asked for
   * themselves): an account made staff meanwhile gets no session.
   */
  async sessionAfterPasswordChange(
    userId: string,
    hash: string,
    meta: SessionMeta,
    via: PasswordChange = 'password',
    customerOnly = via === 'reset',
  ): Promise<LoginResult> {
    let ended: number | undefined;
    for (let i = 0; ended === undefined; i++) {
      try {
        ended = await this.sessions.revokeAll(userId);
      } catch (err) {
        if (i < 2) continue;
        this.logger.error(
          { security_event: 'password_changed_sessions_not_ended', user_id: userId, via, err },
          'password changed, but its sessions could not be ended',
        );
        throw new AppError(
          503,
          'sessions_not_ended',
          'Your password was changed, but your sessions could not all be ended: send POST /auth/logout-all',
        );
      }
    }
    this.logger.warn(
      { security_event: 'password_changed', user_id: userId, via, ip: meta.ip, sessions_ended: ended },
      'password changed: every session ended',
    );
    try {
      const opened = await this.openSession(userId, meta, hash, customerOnly);
      const device = await this.devices.issue(userId, hash);
      return this.loginAnswer(userId, opened, device.token);
    } catch (err) {
      // Changed, and every session ended: only the new one could not be opened (this is not a failure to
      // change, which a retry with the old password would then be told).
      this.logger.error(
        { err, user_id: userId },
        'password changed, but the new session could not be opened',
      );
      throw new AppError(
        503,
        'log_in_again',
        'Your password was changed and your sessions ended; log in with the new password',
      ).logged({ user_id: userId, cause: err instanceof AppError ? err.code : 'error' });
    }
  }

  /**
   * Writes user.locked_out (a security notice to the user) without waiting for it: the 401 that locked an
   * e-mail must take as long for an e-mail nobody has (no event) as for a customer's.
   */
  private tellLockedOut(userId: string, scope: UserLockedOutEvent['scope']): void {
    void this.noticeOncePerDay(`locked-out:${scope}:${userId}`, 'user.locked_out', {
      user_id: userId,
      scope,
      lock_seconds: this.config.loginLockoutSeconds,
    });
  }

  /**
   * Tells the owner of a sign-in from a device the account has no token of, without waiting for it: at
   * most NEW_DEVICE_NOTICES a day, so one holding the password cannot mail and text its owner at the login
   * rate limit's pace; past that the owner has been told several times that day.
   */
  private tellNewDevice(userId: string): void {
    void this.noticeAtMost(NEW_DEVICE_NOTICES, `new-device:${userId}`, 'user.new_device_sign_in', {
      user_id: userId,
    });
  }

  /**
   * Whether this sign-in counts as the account's first: its registration's own login, or one within
   * FIRST_SIGN_IN_SECONDS of it (a retry, or a second tab racing it). `recorded` is the first sign-in as
   * the login read it; only while there is none is it written, and a second tab racing the first waits on
   * the row and reads the first's time. Never fails the login: the session is open by now, so a failure
   * here is logged and tells nothing.
   */
  private async firstSignIn(userId: string, recorded: Date | null): Promise<boolean> {
    if (recorded) return Date.now() - recorded.getTime() < FIRST_SIGN_IN_SECONDS * 1000;
    try {
      // An UPDATE ... RETURNING comes back from TypeORM as [rows, count].
      const [rows] = (await this.dataSource.query(
        `UPDATE auth.credentials SET first_signed_in_at = coalesce(first_signed_in_at, now())
          WHERE user_id = $1
          RETURNING first_signed_in_at > now() - make_interval(secs => $2) AS first`,
        [userId, FIRST_SIGN_IN_SECONDS],
      )) as [{ first: boolean }[], number];
      return rows[0]?.first ?? true;
    } catch (err) {
      this.logger.error({ err, user_id: userId }, 'first sign-in not recorded; no new-device notice');
      return true;
    }
  }

  /**
   * Writes a security notice's event at most once a day per `key` (a user and a kind): a stranger
   * guessing passwords all day, or replaying rotated refresh tokens of an account they made, would
   * otherwise send its owner (or the unverified phone or e-mail given to it) a message, SMS among them,
   * at the rate they can send requests. Never throws: lost only if Redis or the insert fails, which is
   * logged, and a notice not written does not spend the day's one.
   */
  private noticeOncePerDay<N extends SecurityNotice>(
    key: string,
    name: N,
    input: EventInput<N>,
  ): Promise<void> {
    return this.noticeAtMost(1, key, name, input);
  }

  /** noticeOncePerDay, `limit` times a day per `key`. */
  private async noticeAtMost<N extends SecurityNotice>(
    limit: number,
    key: string,
    name: N,
    input: EventInput<N>,
  ): Promise<void> {
    try {
      if (!(await this.limiter.hit('security-notice', key, limit, SECURITY_NOTICE_SECONDS)).allowed) return;
      try {
        await this.outbox.add(this.dataSource.manager, 'auth', name, input, { notify: false });
      } catch (err) {
        await this.limiter.release('security-notice', key).catch(() => undefined);
        throw err;
      }
      this.relay.kickSoon();
    } catch (err) {
      this.logger.error({ err, notice: name, key }, 'security notice not recorded');
    }
  }

  /**
   * Checks a password under a scope's lockout (a login's e-mail or device, a user's password changes):
   * `refuse.locked` while the scope is locked. The attempt is counted before the slow hash, so guesses sent
   * in parallel cannot all pass the lock check before any of them is counted; a success resets the count.
   * One past the count is not checked and given back (`refuse.busy`), but locks nothing: the count holds
   * attempts still being checked as well as failures, and ten right passwords sent at once (an app's
   * retries) locked their owner out for 15 minutes. A failure that brings the count to LOGIN_MAX_FAILURES
   * locks the scope for LOGIN_LOCKOUT_SECONDS (`locked` in the answer), so no more passwords than that
   * are tried per lock.
   */
  /**
   * A signed-in user's password asked for again (to change it, POST /auth/password; to see a card's
   * details, through AUTH_API.verifyPassword): wrong ones from either count together per user, and five
   * lock both for LOGIN_LOCKOUT_SECONDS (429 rate_limited), logged and told to the user. So a stolen
   * session guesses the password no faster through one route than through the other.
   */
  async passwordReentered(
    userId: string,
    storedHash: string,
    password: string,
    ip?: string,
  ): Promise<boolean> {
    const check = await this.checkUnderLockout(passwordChangeScope(userId), storedHash, password, {
      locked: (seconds) =>
        AppError.tooManyRequests('rate_limited', 'Too many wrong passwords: try again later', seconds),
      busy: () =>
        AppError.tooManyRequests('password_change_busy', 'Other checks of your password are under way', 1),
    });
    if (check.matches) return true;
    const context = { user_id: userId, ip };
    this.logger.info({ security_event: 'password_change_failed', ...context }, 'wrong password');
    if (check.locked) {
      this.logger.warn(
        { security_event: 'password_change_lockout', ...context },
        'password checks locked after repeated wrong passwords',
      );
      this.tellLockedOut(userId, 'password_change');
    }
    return false;
  }

  private async checkUnderLockout(
    scope: LockScope,
    storedHash: string | undefined,
    password: string,
    refuse: { locked: (seconds: number) => AppError; busy: () => AppError },
  ): Promise<{ matches: boolean; locked: boolean }> {
    const lockedFor = await this.limiter.lockedFor(scope.lock, scope.key);
    if (lockedFor > 0) throw refuse.locked(lockedFor);
    const maxFailures = this.config.loginMaxFailures;
    const lockoutSeconds = this.config.loginLockoutSeconds;
    const attempt = await this.limiter.hit(scope.failures, scope.key, maxFailures, lockoutSeconds);
    if (!attempt.allowed) {
      await this.limiter.release(scope.failures, scope.key).catch(() => undefined);
      throw refuse.busy();
    }
    let matches: boolean;
    try {
      matches = await checkPassword(storedHash, password);
    } catch (err) {
      // Not checked (503 auth_busy while the hashing is saturated, or an outage): not a failure. Counted, a
      // flood of strangers' logins made the owner's own retries lock their known device.
      await this.limiter.release(scope.failures, scope.key).catch(() => undefined);
      throw err;
    }
    if (matches) {
      await this.limiter.reset(scope.failures, scope.key);
      return { matches, locked: false };
    }
    const locked = attempt.count >= maxFailures;
    if (locked) await this.limiter.lock(scope.lock, scope.key, lockoutSeconds);
    return { matches, locked };
  }

  /**
   * Rotates the refresh token: the presented one stops working, except that within
   * REFRESH_REUSE_GRACE_SECONDS of its rotation it gets the same new pair again (two tabs refreshing at
   * once). Presenting one rotated earlier, or rotated twice since, means it was copied: the whole session
   * is revoked and a security event logged.
   */
  async refresh(refreshToken: string, meta: SessionMeta): Promise<TokenPair & { reset_hold_until?: string }> {
    // Ask users first, rotate last: if the users call fails, the client still holds a working token
    // (rotating first would leave it a rotated one, and its retry would look like theft).
    const session = await this.sessions.peek(refreshToken);
    if (!session) throw new AppError(401, 'invalid_refresh_token', 'Unknown or expired refresh token');
    const userId = session.userId;
    const profile = await this.users.getProfile(userId); // the current role, not the one at login
    if (session.role !== undefined && session.role !== profile.role) {
      // The role changed and this session's end is still on its way (the change answered 503
      // sessions_not_ended): it ends here. A token in the new role would not match its session's.
      await this.sessions.revoke(userId, session.sid);
      throw new AppError(401, 'session_ended', 'Your role has changed: log in again');
    }
    const outcome = await this.sessions.rotate(refreshToken, (sid, next) =>
      this.tokens.pair(userId, profile.role, sid, next),
    );
    if (outcome.kind === 'reused') {
      // The owner is told (a security notice) by the one replay that ended the session: a copy of their
      // token was used, by them or someone else. Copies sent at once each find it reused, not each ends it.
      if (await this.sessions.revoke(outcome.userId, outcome.sid)) {
        await this.noticeOncePerDay(`session-ended:${outcome.userId}`, 'user.session_ended', {
          user_id: outcome.userId,
          reason: 'refresh_token_reused',
        });
      }
      this.logger.warn(
        {
          security_event: 'refresh_token_reuse',
          user_id: outcome.userId,
          session_id: outcome.sid,
          ip: meta.ip,
        },
        'refresh token reused: session revoked',
      );
      throw new AppError(
        401,
        'refresh_token_reused',
        'This refresh token was already used; the session has been ended',
      );
    }
    if (outcome.kind === 'invalid')
      throw new AppError(401, 'invalid_refresh_token', 'Unknown or expired refresh token');
    if (profile.disabled) {
      await this.sessions.revoke(outcome.userId, outcome.sid);
      throw accountDisabled();
    }
    if (outcome.kind === 'grace') {
      this.logger.info(
        {
          security_event: 'refresh_grace_reuse',
          user_id: outcome.userId,
          session_id: outcome.sid,
          ip: meta.ip,
        },
        'refresh token presented again within the grace window: the same new pair returned',
      );
    }
    // The session's reset hold, for the client to keep showing (the guard enforces it either way).
    const hold = session.resetHoldUntil;
    return hold && Date.parse(hold) > Date.now() ? { ...outcome.pair, reset_hold_until: hold } : outcome.pair;
  }
}
