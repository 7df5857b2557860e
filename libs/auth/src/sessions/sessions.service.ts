import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import { AppConfig, AppError, LOGGER, RateLimiter } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { checkPassword } from '../credentials/passwords';
import { SessionStore, type SessionMeta } from './session.store';
import { TokenIssuer, type TokenPair } from './token-issuer';

const badCredentials = () => new AppError(401, 'invalid_credentials', 'Wrong e-mail or password');
const accountDisabled = () => new AppError(403, 'account_disabled', 'This account has been disabled');
const accountLocked = (seconds: number) =>
  AppError.tooManyRequests('account_locked', 'Too many failed logins', seconds);

/** Sessions created with a stale generation are refused; a login retries this often before giving up. */
const CREATE_ATTEMPTS = 3;

@Injectable()
export class SessionsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly sessions: SessionStore,
    private readonly tokens: TokenIssuer,
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Same answer and about the same time for an unknown e-mail and a wrong password. LOGIN_MAX_FAILURES
   * failures for one e-mail (known or not, so locking reveals nothing) lock it for LOGIN_LOCKOUT_SECONDS:
   * 429 with Retry-After, whatever the password, until the lock runs out.
   */
  async login(email: string, password: string, meta: SessionMeta): Promise<TokenPair> {
    const who = email.trim().toLowerCase();
    const lockedFor = await this.limiter.lockedFor('login', who);
    if (lockedFor > 0) throw accountLocked(lockedFor);
    const maxFailures = this.config.loginMaxFailures;
    const lockoutSeconds = this.config.loginLockoutSeconds;
    // Count the attempt before the slow hash, so guesses sent in parallel cannot all pass the check above
    // before any of them is counted; a success resets the count.
    const attempt = await this.limiter.hit('login-failures', who, maxFailures, lockoutSeconds);
    if (!attempt.allowed) throw accountLocked(await this.lock(who, { ip: meta.ip }));
    const [credential] = (await this.dataSource.query(
      `SELECT user_id, password_hash FROM auth.credentials WHERE lower(email) = $1 AND status = 'active'`,
      [who],
    )) as { user_id: string; password_hash: string }[];
    if (!(await checkPassword(credential?.password_hash, password))) {
      if (attempt.count >= maxFailures) await this.lock(who, { ip: meta.ip, user_id: credential?.user_id });
      throw badCredentials();
    }
    await this.limiter.reset('login-failures', who);
    const { sid, refreshToken, role } = await this.openSession(credential.user_id, meta);
    this.logger.info({ user_id: credential.user_id, session_id: sid }, 'login');
    return this.tokens.pair(credential.user_id, role, sid, refreshToken);
  }

  /**
   * Reads the profile (disabled? which role?) and opens a session, unless the user's sessions were revoked
   * in between (disabled, or role changed): then it reads the profile again, so no session outlives a
   * revocation and none carries a role from before it.
   */
  private async openSession(userId: string, meta: SessionMeta) {
    for (let attempt = 1; ; attempt++) {
      const generation = await this.sessions.generation(userId);
      const profile = await this.users.getProfile(userId);
      if (profile.disabled) throw accountDisabled();
      const created = await this.sessions.create(userId, meta, generation);
      if (created) return { ...created, role: profile.role };
      if (attempt === CREATE_ATTEMPTS)
        throw new AppError(503, 'try_again', 'The account is being changed; try again');
    }
  }

  private async lock(who: string, context: { ip?: string; user_id?: string }): Promise<number> {
    const seconds = this.config.loginLockoutSeconds;
    await this.limiter.lock('login', who, seconds);
    this.logger.warn({ security_event: 'login_lockout', ...context }, 'login locked after repeated failures');
    return seconds;
  }

  /**
   * Rotates the refresh token: the presented one stops working, except that within
   * REFRESH_REUSE_GRACE_SECONDS of its rotation it gets the same new pair again (two tabs refreshing at
   * once). Presenting one rotated earlier, or rotated twice since, means it was copied: the whole session
   * is revoked and a security event logged.
   */
  async refresh(refreshToken: string, meta: SessionMeta): Promise<TokenPair> {
    // Ask users first, rotate last: if the users call fails, the client still holds a working token
    // (rotating first would leave it a rotated one, and its retry would look like theft).
    const userId = await this.sessions.peekUser(refreshToken);
    if (!userId) throw new AppError(401, 'invalid_refresh_token', 'Unknown or expired refresh token');
    const profile = await this.users.getProfile(userId); // the current role, not the one at login
    const outcome = await this.sessions.rotate(refreshToken, (sid, next) =>
      this.tokens.pair(userId, profile.role, sid, next),
    );
    if (outcome.kind === 'reused') {
      await this.sessions.revoke(outcome.userId, outcome.sid);
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
    return outcome.pair;
  }
}
