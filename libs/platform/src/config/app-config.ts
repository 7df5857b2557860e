import { CONFIG_SCHEMA, type ConfigKey } from './config.schema';
import { developmentKeysDir, refusal } from './committed-secrets';
import { ConfigError, isLoopbackHost, listItems, readVariables } from './variables';

export type NodeEnv = 'development' | 'test' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** getUTCDay() order. */
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/**
 * The platform's configuration: what every app needs whatever modules it hosts (HTTP, logs, database,
 * Redis, RabbitMQ, access tokens, metrics, mail, the bank's identity, calendar and limits). Typed and
 * validated once at boot by loadConfig(); a bad variable stops the process. Each domain module reads its
 * own variables into a class of its own (ConfigSection), next to the module.
 */
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
  readonly trustProxy: string | number;
  /** RATE_LIMIT_IPV6_PREFIX: the bits of an IPv6 address a per-IP rate limit counts a client by. */
  readonly rateLimitIpv6Prefix: number;
  readonly sortCode: string;
  readonly maxAmount: number;
  readonly idempotencyRetentionHours: number;
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
  readonly bankTimeZone: string;
  /** ISO dates that are not working days. */
  readonly bankHolidays: ReadonlySet<string>;
  /** Weekdays that are not working days: 0 Sunday to 6 Saturday. */
  readonly bankWeekend: ReadonlySet<number>;

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
    this.trustProxy = /^\d+$/.test(values.TRUST_PROXY!) ? Number(values.TRUST_PROXY) : values.TRUST_PROXY!;
    this.rateLimitIpv6Prefix = Number(values.RATE_LIMIT_IPV6_PREFIX);
    this.sortCode = values.SORT_CODE!;
    this.maxAmount = int('MAX_AMOUNT')!;
    this.idempotencyRetentionHours = int('IDEMPOTENCY_RETENTION_HOURS')!;
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
          (this.nodeEnv === 'production' && !isLoopbackHost(values.SMTP_HOST ?? 'localhost')),
    };
    this.bankTimeZone = values.BANK_TIME_ZONE!;
    this.bankHolidays = new Set(listItems(values.BANK_HOLIDAYS ?? ''));
    this.bankWeekend = new Set(
      listItems(values.BANK_WEEKEND!)
        .filter((d) => d !== 'none')
        .map((d) => WEEKDAYS.indexOf(d)),
    );
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }
}

/** Reads, validates and types the platform's variables; throws ConfigError naming each bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const { values, problems } = readVariables(CONFIG_SCHEMA, env);
  if (env.NODE_ENV === 'production' && values.JWT_KEYS_DIR !== undefined) {
    const why = developmentKeysDir(values.JWT_KEYS_DIR);
    if (why) problems.push(refusal('JWT_KEYS_DIR', env, why));
  }
  if (values.JWT_KEYS_DIR !== undefined && values.JWT_PRIVATE_KEY !== undefined) {
    problems.push(
      'JWT_KEYS_DIR and JWT_PRIVATE_KEY (or JWT_PRIVATE_KEY_FILE) are two places for the signing keys: set one',
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return new AppConfig(values);
}
