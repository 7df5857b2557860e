import {
  AppError,
  type AppConfig,
  type ConfigSchema,
  type ConfigValues,
  configProvider,
  signingKeyConfigured,
} from '@protobank/platform';
import { assertPasswordPolicy } from './credentials/password-policy';

/** The variables the auth module reads, with their defaults and meaning (README's configuration table). */
export const AUTH_VARIABLES = {
  REFRESH_TOKEN_TTL_SECONDS: {
    kind: 'int',
    min: 300,
    max: 7776000,
    default: '604800',
    doc: 'Lifetime of a refresh session (one per login), renewed by nothing: a session ends at the latest this long after login.',
  },
  SESSIONS_PER_USER_MAX: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '50',
    doc: 'Most refresh sessions (logins) one user keeps: a login beyond it ends the least recently used one, whose tokens stop working at once.',
  },
  REFRESH_REUSE_GRACE_SECONDS: {
    kind: 'int',
    min: 0,
    max: 60,
    default: '10',
    doc: 'For this long after a refresh token is rotated, presenting it again returns the same new pair (two tabs refreshing at once); after it, or once the new token is rotated, it is a replay that ends the session. 0 turns the grace off.',
  },
  LOGIN_RATE_LIMIT_PER_MINUTE: {
    kind: 'int',
    min: 1,
    max: 100000,
    default: '30',
    doc: 'Login attempts per client IP per minute (then 429).',
  },
  REGISTER_RATE_LIMIT_PER_MINUTE: {
    kind: 'int',
    min: 1,
    max: 100000,
    default: '20',
    doc: 'Registrations per client IP per minute (each costs an argon2id hash), then 429.',
  },
  LOGIN_MAX_FAILURES: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '5',
    doc: 'Failed logins for one e-mail (from clients without a device token of the account), or for one device token, before it locks.',
  },
  LOGIN_LOCKOUT_SECONDS: {
    kind: 'int',
    min: 1,
    max: 86400,
    default: '900',
    doc: "How long a lock lasts once LOGIN_MAX_FAILURES failures are counted (within a window of the same length): the e-mail's lock, which clients without a device token of the account obey, or one device token's own lock. A locked login gets 429 account_locked with Retry-After, whatever the password.",
  },
  LOGIN_DEVICE_TOKEN_TTL_DAYS: {
    kind: 'int',
    min: 1,
    max: 3650,
    default: '90',
    doc: "Lifetime of a device token (issued at a successful login, renewed by each login with it); a login presenting a valid one is not subject to the e-mail's lockout, only to the token's own.",
  },
  PASSWORD_RESET_URL: {
    kind: 'url',
    protocols: ['https:'],
    doc: 'The page of your app or site where a customer chooses a new password: the reset e-mail links to it with the token in the fragment (`#token=…`, which browsers send to no server). Without it the e-mail gives the token alone, to paste into the app.',
  },
  PASSWORD_RESET_HOLD_HOURS: {
    kind: 'int',
    min: 0,
    max: 168,
    default: '24',
    doc: 'For this long after a password reset by e-mail, its sessions (and every later login) may not add payees, transfer to accounts other than their own, issue or reveal cards, change the phone number or address, re-verify a verified name or date of birth (KYC) or switch notices off (403 recently_reset): the reset proved only the mailbox. 0 turns the hold off.',
  },
  ADMIN_EMAIL: { kind: 'email', doc: 'E-mail of the first staff admin, created at startup if absent.' },
  ADMIN_PASSWORD: {
    kind: 'string',
    secret: true,
    devValues: ['change-me', 'admin', 'password'],
    doc: 'Password of that admin (or ADMIN_PASSWORD_FILE); checked at boot against the password policy (12 characters or more, 5 different, not a common one, not the e-mail).',
  },
} as const satisfies ConfigSchema;

/**
 * The auth module's configuration: sessions and refresh tokens, login and registration limits, password
 * resets, the first admin. Access tokens' lifetime and signing keys are the platform's (every app checks
 * tokens). Read once when an app hosting the module boots (configProvider).
 */
export class AuthConfig {
  static readonly variables = AUTH_VARIABLES;

  readonly refreshTokenTtlSeconds: number;
  readonly sessionsPerUserMax: number;
  readonly refreshReuseGraceSeconds: number;
  readonly loginRateLimitPerMinute: number;
  readonly registerRateLimitPerMinute: number;
  readonly loginMaxFailures: number;
  readonly loginLockoutSeconds: number;
  readonly loginDeviceTokenTtlDays: number;
  /** Where password-reset e-mails link to (PASSWORD_RESET_URL); without it they give the token alone. */
  readonly passwordResetUrl: string | undefined;
  /** Hours after a reset by e-mail during which its sessions may not send money to others (0: none). */
  readonly passwordResetHoldHours: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;

  constructor(v: ConfigValues<typeof AUTH_VARIABLES>) {
    this.refreshTokenTtlSeconds = Number(v.REFRESH_TOKEN_TTL_SECONDS);
    this.sessionsPerUserMax = Number(v.SESSIONS_PER_USER_MAX);
    this.refreshReuseGraceSeconds = Number(v.REFRESH_REUSE_GRACE_SECONDS);
    this.loginRateLimitPerMinute = Number(v.LOGIN_RATE_LIMIT_PER_MINUTE);
    this.registerRateLimitPerMinute = Number(v.REGISTER_RATE_LIMIT_PER_MINUTE);
    this.loginMaxFailures = Number(v.LOGIN_MAX_FAILURES);
    this.loginLockoutSeconds = Number(v.LOGIN_LOCKOUT_SECONDS);
    this.loginDeviceTokenTtlDays = Number(v.LOGIN_DEVICE_TOKEN_TTL_DAYS);
    this.passwordResetUrl = v.PASSWORD_RESET_URL || undefined;
    this.passwordResetHoldHours = Number(v.PASSWORD_RESET_HOLD_HOURS);
    this.adminEmail = v.ADMIN_EMAIL?.toLowerCase();
    this.adminPassword = v.ADMIN_PASSWORD;
  }

  /**
   * The first admin's e-mail and password go together, and the password passes the policy every
   * password does (assertPasswordPolicy): a weak one would otherwise boot, and the admin never be made.
   */
  static problems(
    v: ConfigValues<typeof AUTH_VARIABLES>,
    _production: boolean,
    platform: AppConfig | undefined,
  ): string[] {
    // The app hosting auth signs the access tokens: otherwise found by SigningKeys, after connecting.
    const keys =
      platform && !signingKeyConfigured(platform)
        ? ['JWT_KEYS_DIR (or JWT_PRIVATE_KEY_FILE) must be set where auth runs: it signs the access tokens']
        : [];
    return [...keys, ...adminProblems(v)];
  }
}

/** The first admin's settings: both or neither, and a password the policy accepts. */
function adminProblems(v: ConfigValues<typeof AUTH_VARIABLES>): string[] {
  if ((v.ADMIN_EMAIL === undefined) !== (v.ADMIN_PASSWORD === undefined))
    return ['ADMIN_EMAIL and ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) must be set together'];
  if (v.ADMIN_EMAIL === undefined || v.ADMIN_PASSWORD === undefined) return [];
  try {
    assertPasswordPolicy(v.ADMIN_PASSWORD, v.ADMIN_EMAIL, 'ADMIN_PASSWORD');
    return [];
  } catch (err) {
    // The rule broken, said of ADMIN_PASSWORD; never the password.
    if (err instanceof AppError) return [err.message];
    throw err;
  }
}

/** Provides AuthConfig to the module's classes. */
export const authConfigProvider = configProvider(AuthConfig);
