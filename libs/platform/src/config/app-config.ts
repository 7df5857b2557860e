import { CONFIG_SCHEMA, type ConfigKey, type VariableSpec } from './config.schema';
import { isCalendarDate } from '../time/calendar-date';
import { developmentKeysDir, developmentSecret, refusal } from './committed-secrets';
import { readVariable } from './env-reader';

export type NodeEnv = 'development' | 'test' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Typed, validated configuration. Built once at boot by loadConfig(); a bad variable stops the process. */
/** getUTCDay() order. */
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export class AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number | undefined;
  readonly databaseUrl: string;
  readonly databaseListenUrl: string;
  readonly databasePoolSize: number;
  readonly databaseRuntimeUser?: string;
  readonly databaseRuntimePassword?: string;
  /** migrate's patience with locks held by the traffic (see migration-locks.ts). */
  readonly migrationLocks: { lockTimeoutMs: number; attempts: number };
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly rabbitmqUrl: string;
  readonly rabbitmqPrefix: string;
  readonly rpcTimeoutMs: number;
  readonly outboxPollMs: number;
  readonly eventMaxDeliveries: number;
  readonly eventBatchesInFlight: number;
  readonly eventRetentionDays: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'pretty';
  readonly corsOrigins: string[];
  readonly bodyLimit: string;
  readonly httpRequestTimeoutMs: number;
  /** Never above httpRequestTimeoutMs (Node refuses a headers timeout longer than the request's). */
  readonly httpHeadersTimeoutMs: number;
  readonly metricsToken: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly jwtKeysDir: string | undefined;
  readonly jwtKeysRefreshSeconds: number;
  readonly jwtPublicKey: string | undefined;
  readonly jwtPrivateKey: string | undefined;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly sessionsPerUserMax: number;
  readonly refreshReuseGraceSeconds: number;
  readonly kycEncryptionKey: string | undefined;
  readonly trustProxy: string | number;
  readonly loginRateLimitPerMinute: number;
  readonly registerRateLimitPerMinute: number;
  readonly loginMaxFailures: number;
  readonly loginLockoutSeconds: number;
  readonly loginDeviceTokenTtlDays: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly sortCode: string;
  readonly maxAmount: number;
  readonly maxOverdraftLimit: number;
  readonly idempotencyRetentionHours: number;
  readonly ledgerVerifyIntervalMinutes: number;
  readonly ledgerBatchMaxItems: number;
  readonly ledgerBatchesInFlight: number;
  readonly ledgerQueueTimeoutMs: number;
  readonly maxAccountsPerCustomer: number;
  readonly transferMissLimit: number;
  readonly transferMissWindowSeconds: number;
  readonly smtp: {
    host: string | undefined;
    port: number;
    secure: boolean;
    user: string | undefined;
    password: string | undefined;
    from: string;
    /**
     * STARTTLS required, not only used when offered: SMTP_REQUIRE_TLS, or by default with a login (the
     * password must not go in clear) and in production unless the relay is on this host (the mail carries
     * password-reset tokens).
     */
    requireTls: boolean;
  };
  /** Where password-reset e-mails link to (PASSWORD_RESET_URL); without it they give the token alone. */
  readonly passwordResetUrl: string | undefined;
  /** Hours after a reset by e-mail during which its sessions may not send money to others (0: none). */
  readonly passwordResetHoldHours: number;
  readonly smsWebhookUrl: string | undefined;
  readonly pushWebhookUrl: string | undefined;
  readonly webhookSigningSecret: string | undefined;
  readonly notificationDeliveryAttempts: number;
  readonly notificationRetryDelayMs: number;
  readonly notificationStreamsPerUser: number;
  readonly notificationStreamHeartbeatMs: number;
  readonly bankTimeZone: string;
  /** ISO dates that are not working days. */
  readonly bankHolidays: ReadonlySet<string>;
  /** Weekdays that are not working days: 0 Sunday to 6 Saturday. */
  readonly bankWeekend: ReadonlySet<number>;
  readonly paymentRetryAttempts: number;
  readonly paymentRetryIntervalMinutes: number;
  readonly standingOrderMaxConsecutiveFailures: number;
  readonly cardBin: string;
  /** 32 bytes, hex or base64; undefined: the cards module's development key (refused in production). */
  readonly cardDataKey: string | undefined;
  /** Every accepted card network secret (rotation); empty: the development secret (refused in production). */
  readonly cardNetworkSecrets: string[];
  readonly cardHoldExpiryDays: number;
  /** Days after an authorisation a clearing may still come once its hold expired; the account stays open. */
  readonly cardLateClearingDays: number;
  readonly cardHoldExpirySweepSeconds: number;
  readonly cardRevealRateLimitPerHour: number;

  constructor(values: Record<ConfigKey, string | undefined>) {
    const int = (key: ConfigKey) => (values[key] === undefined ? undefined : Number(values[key]));
    this.nodeEnv = values.NODE_ENV as NodeEnv;
    this.host = values.HOST!;
    this.port = int('PORT');
    this.databaseUrl = values.DATABASE_URL!;
    this.databaseListenUrl = values.DATABASE_LISTEN_URL ?? this.databaseUrl;
    this.databasePoolSize = int('DATABASE_POOL_SIZE')!;
    this.databaseRuntimeUser = values.DATABASE_RUNTIME_USER;
    this.databaseRuntimePassword = values.DATABASE_RUNTIME_PASSWORD;
    this.migrationLocks = {
      lockTimeoutMs: int('MIGRATION_LOCK_TIMEOUT_MS')!,
      attempts: int('MIGRATION_LOCK_ATTEMPTS')!,
    };
    this.redisUrl = values.REDIS_URL!;
    this.redisKeyPrefix = values.REDIS_KEY_PREFIX!;
    this.rabbitmqUrl = values.RABBITMQ_URL!;
    this.rabbitmqPrefix = values.RABBITMQ_PREFIX!;
    this.rpcTimeoutMs = int('RPC_TIMEOUT_MS')!;
    this.outboxPollMs = int('OUTBOX_POLL_MS')!;
    this.eventMaxDeliveries = int('EVENT_MAX_DELIVERIES')!;
    this.eventBatchesInFlight = int('EVENT_BATCHES_IN_FLIGHT')!;
    this.eventRetentionDays = int('EVENT_RETENTION_DAYS')!;
    this.logLevel = values.LOG_LEVEL as LogLevel;
    this.logFormat = (values.LOG_FORMAT ?? (this.nodeEnv === 'production' ? 'json' : 'pretty')) as
      'json' | 'pretty';
    this.corsOrigins = listItems(values.CORS_ORIGINS ?? '');
    this.bodyLimit = values.BODY_LIMIT!;
    this.httpRequestTimeoutMs = int('HTTP_REQUEST_TIMEOUT_MS')!;
    this.httpHeadersTimeoutMs = Math.min(int('HTTP_HEADERS_TIMEOUT_MS')!, this.httpRequestTimeoutMs);
    this.metricsToken = values.METRICS_TOKEN;
    this.shutdownTimeoutMs = int('SHUTDOWN_TIMEOUT_MS')!;
    this.shutdownDelayMs = int('SHUTDOWN_DELAY_MS')!;
    // PEM in an environment variable may arrive with its newlines escaped as \n.
    const pem = (v: string | undefined) => v?.replace(/\\n/g, '\n');
    this.jwtKeysDir = values.JWT_KEYS_DIR;
    this.jwtKeysRefreshSeconds = int('JWT_KEYS_REFRESH_SECONDS')!;
    this.jwtPublicKey = pem(values.JWT_PUBLIC_KEY);
    this.jwtPrivateKey = pem(values.JWT_PRIVATE_KEY);
    this.jwtIssuer = values.JWT_ISSUER!;
    this.jwtAudience = values.JWT_AUDIENCE!;
    this.accessTokenTtlSeconds = int('ACCESS_TOKEN_TTL_SECONDS')!;
    this.refreshTokenTtlSeconds = int('REFRESH_TOKEN_TTL_SECONDS')!;
    this.sessionsPerUserMax = int('SESSIONS_PER_USER_MAX')!;
    this.refreshReuseGraceSeconds = int('REFRESH_REUSE_GRACE_SECONDS')!;
    this.kycEncryptionKey = values.KYC_ENCRYPTION_KEY;
    this.trustProxy = /^\d+$/.test(values.TRUST_PROXY!) ? Number(values.TRUST_PROXY) : values.TRUST_PROXY!;
    this.loginRateLimitPerMinute = int('LOGIN_RATE_LIMIT_PER_MINUTE')!;
    this.registerRateLimitPerMinute = int('REGISTER_RATE_LIMIT_PER_MINUTE')!;
    this.loginMaxFailures = int('LOGIN_MAX_FAILURES')!;
    this.loginLockoutSeconds = int('LOGIN_LOCKOUT_SECONDS')!;
    this.loginDeviceTokenTtlDays = int('LOGIN_DEVICE_TOKEN_TTL_DAYS')!;
    this.adminEmail = values.ADMIN_EMAIL?.toLowerCase();
    this.adminPassword = values.ADMIN_PASSWORD;
    this.sortCode = values.SORT_CODE!;
    this.maxAmount = int('MAX_AMOUNT')!;
    this.maxOverdraftLimit = int('MAX_OVERDRAFT_LIMIT')!;
    this.idempotencyRetentionHours = int('IDEMPOTENCY_RETENTION_HOURS')!;
    this.ledgerVerifyIntervalMinutes = int('LEDGER_VERIFY_INTERVAL_MINUTES')!;
    this.ledgerBatchMaxItems = int('LEDGER_BATCH_MAX_ITEMS')!;
    this.ledgerBatchesInFlight = int('LEDGER_BATCHES_IN_FLIGHT')!;
    this.ledgerQueueTimeoutMs = int('LEDGER_QUEUE_TIMEOUT_MS')!;
    this.maxAccountsPerCustomer = int('MAX_ACCOUNTS_PER_CUSTOMER')!;
    this.transferMissLimit = int('TRANSFER_MISS_LIMIT')!;
    this.transferMissWindowSeconds = int('TRANSFER_MISS_WINDOW_SECONDS')!;
    this.smtp = {
      host: values.SMTP_HOST || undefined,
      port: int('SMTP_PORT')!,
      secure: values.SMTP_SECURE === 'true',
      user: values.SMTP_USER || undefined,
      password: values.SMTP_PASSWORD || undefined,
      from: values.MAIL_FROM!,
      requireTls: values.SMTP_REQUIRE_TLS
        ? values.SMTP_REQUIRE_TLS === 'true'
        : !!values.SMTP_USER ||
          (this.nodeEnv === 'production' && !LOOPBACK_HOSTS.test(values.SMTP_HOST ?? 'localhost')),
    };
    this.passwordResetUrl = values.PASSWORD_RESET_URL || undefined;
    this.passwordResetHoldHours = int('PASSWORD_RESET_HOLD_HOURS')!;
    this.smsWebhookUrl = values.SMS_WEBHOOK_URL;
    this.pushWebhookUrl = values.PUSH_WEBHOOK_URL;
    this.webhookSigningSecret = values.WEBHOOK_SIGNING_SECRET;
    this.notificationDeliveryAttempts = int('NOTIFICATION_DELIVERY_ATTEMPTS')!;
    this.notificationRetryDelayMs = int('NOTIFICATION_RETRY_DELAY_MS')!;
    this.notificationStreamsPerUser = int('NOTIFICATION_STREAMS_PER_USER')!;
    this.notificationStreamHeartbeatMs = int('NOTIFICATION_STREAM_HEARTBEAT_MS')!;
    this.bankTimeZone = values.BANK_TIME_ZONE!;
    this.bankHolidays = new Set(listItems(values.BANK_HOLIDAYS ?? ''));
    this.bankWeekend = new Set(
      listItems(values.BANK_WEEKEND!)
        .filter((d) => d !== 'none')
        .map((d) => WEEKDAYS.indexOf(d)),
    );
    this.paymentRetryAttempts = int('PAYMENT_RETRY_ATTEMPTS')!;
    this.paymentRetryIntervalMinutes = int('PAYMENT_RETRY_INTERVAL_MINUTES')!;
    this.standingOrderMaxConsecutiveFailures = int('STANDING_ORDER_MAX_CONSECUTIVE_FAILURES')!;
    this.cardBin = values.CARD_BIN!;
    this.cardDataKey = values.CARD_DATA_KEY;
    this.cardNetworkSecrets = listItems(values.CARD_NETWORK_SECRET ?? '');
    this.cardHoldExpiryDays = int('CARD_HOLD_EXPIRY_DAYS')!;
    this.cardLateClearingDays = int('CARD_LATE_CLEARING_DAYS')!;
    this.cardHoldExpirySweepSeconds = int('CARD_HOLD_EXPIRY_SWEEP_SECONDS')!;
    this.cardRevealRateLimitPerHour = int('CARD_REVEAL_RATE_LIMIT_PER_HOUR')!;
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }
}

const listItems = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

function check(name: string, spec: VariableSpec, value: string): string | undefined {
  switch (spec.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(value)) return `${name} must be an integer, got "${value}"`;
      const n = Number(value);
      if (spec.min !== undefined && n < spec.min) return `${name} must be at least ${spec.min}, got ${n}`;
      if (spec.max !== undefined && n > spec.max) return `${name} must be at most ${spec.max}, got ${n}`;
      return undefined;
    }
    case 'enum':
      return spec.values!.includes(value)
        ? undefined
        : `${name} must be one of ${spec.values!.join(', ')}, got "${value}"`;
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `${name} is not a valid URL`;
      }
      return spec.protocols && !spec.protocols.includes(url.protocol)
        ? `${name} must use ${spec.protocols.join(' or ')}, got ${url.protocol}`
        : undefined;
    }
    case 'time_zone':
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: value });
        return undefined;
      } catch {
        return `${name} must be an IANA time zone such as Europe/London, got "${value}"`;
      }
    case 'list': {
      if (!spec.values) return undefined;
      const items = listItems(value);
      const bad = items.filter((v) => !spec.values!.includes(v));
      if (bad.length)
        return `${name} may hold only ${spec.values.join(', ')}, got ${bad.map((v) => `"${v}"`).join(', ')}`;
      if (name === 'BANK_WEEKEND' && new Set(items.filter((v) => v !== 'none')).size >= 7)
        return `${name} must leave at least one working day`;
      return undefined;
    }
    case 'date_list': {
      const bad = listItems(value).filter((d) => !isCalendarDate(d));
      return bad.length
        ? `${name} must hold ISO dates (YYYY-MM-DD), got ${bad.map((d) => `"${d}"`).join(', ')}`
        : undefined;
    }
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? undefined : `${name} must be an e-mail address`;
    default:
      // A secret's value is never repeated (the message ends up in logs).
      return spec.pattern && !spec.pattern.test(value)
        ? `${name} must match ${String(spec.pattern)}${spec.secret ? '' : `, got "${value}"`}`
        : undefined;
  }
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/;

/**
 * Production's rules for the SMS and push webhooks: they carry customers' phone numbers and messages, so
 * they travel over TLS (http only to a loopback sidecar, which never leaves the host), and they are signed,
 * so that a receiver can tell Protobank's requests from forgeries. Never repeats a URL (it may hold a token).
 */
function webhookProblems(values: Record<ConfigKey, string | undefined>): string[] {
  const problems: string[] = [];
  const hooks = (['SMS_WEBHOOK_URL', 'PUSH_WEBHOOK_URL'] as const).filter(
    (name) => values[name] !== undefined,
  );
  for (const name of hooks) {
    // A value that is not a URL at all already has its problem from the schema's check.
    if (!URL.canParse(values[name] as string)) continue;
    const url = new URL(values[name] as string);
    if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.test(url.hostname)) {
      problems.push(
        `${name} must use https: in production (it carries customers' phone numbers and messages)`,
      );
    }
  }
  const secret = values.WEBHOOK_SIGNING_SECRET;
  if (hooks.length && secret === undefined) {
    problems.push(`WEBHOOK_SIGNING_SECRET must be set in production while ${hooks.join(' or ')} is`);
  } else if (secret !== undefined && secret.length < 32) {
    problems.push('WEBHOOK_SIGNING_SECRET must be at least 32 characters in production');
  }
  return problems;
}

/** Reads, validates and types every variable; throws ConfigError naming each bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const values = {} as Record<ConfigKey, string | undefined>;
  const production = env.NODE_ENV === 'production';
  for (const [name, spec] of Object.entries(CONFIG_SCHEMA) as [ConfigKey, VariableSpec][]) {
    let raw: string | undefined;
    try {
      raw = spec.secret ? readVariable(env, name) : env[name] === '' ? undefined : env[name];
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const explicit = raw !== undefined;
    const value = raw ?? spec.default;
    if (value !== undefined) {
      const problem = check(name, spec, value);
      if (problem) problems.push(problem);
    }
    if (production && spec.secret && value !== undefined) {
      if (!explicit && spec.default !== undefined) {
        problems.push(`${name} must be set explicitly in production (the default is for development only)`);
      } else {
        const why =
          developmentSecret(value) ??
          (spec.devValues?.some((dev) => value.includes(dev)) ? 'it is a well-known password' : undefined);
        if (why) problems.push(refusal(name, env, why));
      }
    }
    values[name] = value;
  }
  if (production && values.JWT_KEYS_DIR !== undefined) {
    const why = developmentKeysDir(values.JWT_KEYS_DIR);
    if (why) problems.push(refusal('JWT_KEYS_DIR', env, why));
  }
  if (production) {
    // One problem per variable: a secret already refused (a committed value) is not also called short.
    const named = (problem: string) => problem.slice(0, problem.indexOf(' '));
    const refused = new Set(problems.map(named));
    problems.push(...webhookProblems(values).filter((problem) => !refused.has(named(problem))));
  }
  if ((values.ADMIN_EMAIL === undefined) !== (values.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) must be set together');
  }
  if (values.JWT_KEYS_DIR !== undefined && values.JWT_PRIVATE_KEY !== undefined) {
    problems.push(
      'JWT_KEYS_DIR and JWT_PRIVATE_KEY (or JWT_PRIVATE_KEY_FILE) are two places for the signing keys: set one',
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return new AppConfig(values);
}
