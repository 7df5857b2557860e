/**
 * The platform's configuration variables (AppConfig), with their defaults and meaning: what every app
 * reads. Each domain module lists its own next to it (libs/<module>/src/<module>.config.ts). README's
 * configuration table is written from these lists; keep them in step (apps/monolith's config spec checks).
 */
export type VariableKind = 'string' | 'int' | 'url' | 'enum' | 'list' | 'email' | 'time_zone' | 'date_list';

export interface VariableSpec {
  kind: VariableKind;
  default?: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  protocols?: readonly string[];
  /** For strings: the form the value must have. */
  pattern?: RegExp;
  /** Secrets may come from NAME_FILE and must not keep a development value in production. */
  secret?: boolean;
  /**
   * Refuse these substrings in production (well-known passwords). Committed example and development
   * secrets are refused for every secret by committed-secrets.ts.
   */
  devValues?: readonly string[];
  doc: string;
}

export const CONFIG_SCHEMA = {
  NODE_ENV: {
    kind: 'enum',
    values: ['development', 'test', 'production'],
    default: 'development',
    doc: 'Runtime mode; production refuses development secrets and logs JSON.',
  },
  HOST: { kind: 'string', default: '0.0.0.0', doc: 'Interface the HTTP server binds.' },
  PORT: {
    kind: 'int',
    min: 1,
    max: 65535,
    doc: "HTTP port; defaults to the app's own port (monolith 3000, services 3001-3008).",
  },
  DATABASE_URL: {
    kind: 'url',
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    default: 'postgres://postgres@127.0.0.1:5432/protobank',
    doc: 'PostgreSQL connection; the database is created if missing.',
  },
  DATABASE_LISTEN_URL: {
    kind: 'url',
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    doc: 'Direct PostgreSQL connection, for what needs a session of its own when DATABASE_URL goes through PgBouncer: LISTEN (outbox wake-ups) and session advisory locks (the payments sweep); defaults to DATABASE_URL.',
  },
  DATABASE_POOL_SIZE: { kind: 'int', min: 1, max: 200, default: '10', doc: 'Connections per process.' },
  DATABASE_RUNTIME_USER: {
    kind: 'string',
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
    doc: "Read by migrate (which runs as the schema's owner): the login the apps connect as, created (or, if it can do no more than the group, updated) after the migrations as a member of protobank_runtime (rows only: no DDL, no UPDATE or DELETE of the journal or the audit log). Production apps refuse to run as a superuser or as the schema's owner.",
  },
  DATABASE_RUNTIME_PASSWORD: {
    kind: 'string',
    secret: true,
    doc: "Read by migrate: DATABASE_RUNTIME_USER's password (or DATABASE_RUNTIME_PASSWORD_FILE; printable ASCII), sent as a SCRAM verifier; required in production; unset elsewhere, a new login gets none (trust or peer authentication) and an existing one keeps its own.",
  },
  MIGRATION_LOCK_TIMEOUT_MS: {
    kind: 'int',
    min: 0,
    max: 600000,
    default: '3000',
    doc: "Read by migrate: how long a migration waits for a table's lock before it gives up, rolls back and is tried again (Postgres's lock_timeout for its session), so a migration stuck behind a long query does not hold every other query on that table up behind it; 0 waits without limit.",
  },
  MIGRATION_LOCK_ATTEMPTS: {
    kind: 'int',
    min: 1,
    max: 100,
    default: '10',
    doc: 'Read by migrate: how many times a migration that gave up on a lock (or lost a deadlock) is tried, the pause between tries doubling from MIGRATION_LOCK_TIMEOUT_MS up to 30 s; then migrate exits 1 naming the statement that waited.',
  },
  REDIS_URL: {
    kind: 'url',
    protocols: ['redis:', 'rediss:'],
    secret: true,
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis for sessions, caches and queues.',
  },
  REDIS_KEY_PREFIX: {
    kind: 'string',
    default: 'pb:',
    doc: 'Prefix of every Redis key this deployment writes.',
  },
  RABBITMQ_URL: {
    kind: 'url',
    protocols: ['amqp:', 'amqps:'],
    secret: true,
    default: 'amqp://guest:guest@127.0.0.1:5672',
    doc: 'RabbitMQ for contract calls and events between split apps (the monolith never connects).',
  },
  RABBITMQ_PREFIX: { kind: 'string', default: 'protobank', doc: 'Prefix of the exchange and queue names.' },
  RPC_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 120000,
    default: '5000',
    doc: 'How long a contract call over RabbitMQ waits for its reply.',
  },
  OUTBOX_POLL_MS: {
    kind: 'int',
    min: 50,
    max: 60000,
    default: '1000',
    doc: 'Outbox relay polling interval (commits also wake it at once).',
  },
  EVENT_RETENTION_DAYS: {
    kind: 'int',
    min: 1,
    max: 3650,
    default: '14',
    doc: 'Published outbox rows and inbox records older than this are deleted (hourly). Keep it above the longest redelivery window.',
  },
  EVENT_MAX_DELIVERIES: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '10',
    doc: 'Deliveries of one event to a failing consumer before it is dead-lettered (split mode; same value in every app).',
  },
  EVENT_BATCHES_IN_FLIGHT: {
    kind: 'int',
    min: 1,
    max: 16,
    default: '4',
    doc: 'Batches of events (up to 64 each) one split app handles at once; its queue prefetches 64 per batch.',
  },
  JWT_KEYS_DIR: {
    kind: 'string',
    doc: 'Directory of the access-token signing keys (EC P-256 PEM files named by their creation time, written by `npm run keys:rotate`); read by the app hosting auth, which signs with the newest and re-reads it every JWT_KEYS_REFRESH_SECONDS. Development: .data/jwt/keys when no key is configured.',
  },
  JWT_KEYS_REFRESH_SECONDS: {
    kind: 'int',
    min: 1,
    max: 300,
    default: '30',
    doc: 'How often auth re-reads JWT_KEYS_DIR and every other app asks auth for the verification keys (a key id they do not know is asked about at once).',
  },
  JWT_PUBLIC_KEY: {
    kind: 'string',
    secret: true,
    doc: 'EC P-256 public key(s) (PEM, several blocks allowed) the apps that do not host auth verify with from boot; they learn newer keys from auth.',
  },
  JWT_PRIVATE_KEY: {
    kind: 'string',
    secret: true,
    doc: 'One EC P-256 private key (PEM) for auth to sign with, instead of JWT_KEYS_DIR (rotating it needs a restart of auth).',
  },
  JWT_ISSUER: {
    kind: 'string',
    default: 'protobank',
    doc: 'The `iss` of access tokens, checked on every request.',
  },
  JWT_AUDIENCE: {
    kind: 'string',
    default: 'protobank-api',
    doc: 'The `aud` of access tokens, checked on every request.',
  },
  ACCESS_TOKEN_TTL_SECONDS: {
    kind: 'int',
    min: 60,
    max: 86400,
    default: '900',
    doc: 'Lifetime of an access token.',
  },
  TRUST_PROXY: {
    kind: 'string',
    default: 'loopback',
    doc: "Which proxies' X-Forwarded-For to believe for the client IP (Fastify `trustProxy`, as proxy-addr reads it: loopback, uniquelocal, CIDRs, or a hop count).",
  },
  RATE_LIMIT_IPV6_PREFIX: {
    kind: 'int',
    min: 32,
    max: 128,
    default: '64',
    doc: 'The per-IP rate limits count an IPv6 client by its network of this many bits (a customer of an ISP or a cloud has a /64 at least, and takes a fresh address from it at will; some get a /56 or a /48); IPv4 by its address, also when written IPv4-mapped or carried by a NAT64, 6to4 or Teredo address.',
  },
  SORT_CODE: {
    kind: 'string',
    default: '990001',
    pattern: /^\d{6}$/,
    doc: "The bank's sort code (6 digits); part of every account number's modulus check.",
  },
  MAX_AMOUNT: {
    kind: 'int',
    min: 1,
    // The ledger's bound on a card amount (MAX_CARD_AMOUNT, 10^15): a card payment up to MAX_AMOUNT must fit it.
    max: 1000000000000000,
    default: '100000000',
    doc: 'Largest amount one transfer or deposit may move, in minor units of its currency (at most 10^15).',
  },
  IDEMPOTENCY_RETENTION_HOURS: {
    kind: 'int',
    min: 24,
    max: 8760,
    default: '48',
    doc: 'How long an Idempotency-Key and its outcome are kept (replays within it move no money).',
  },
  TRANSFER_MISS_LIMIT: {
    kind: 'int',
    min: 1,
    max: 100000,
    default: '10',
    doc: "Transfers one customer may have refused per window because the destination does not exist, is closed or holds another currency (internal payees refused for a missing number, and new orders refused for an internal payee's closed or other-currency account, count too); beyond it every transfer of theirs by account number, every internal payee and every such order is 429 rate_limited until the window ends. More lookups by number at once than this are 429 lookups_busy (Retry-After 1) for the excess.",
  },
  TRANSFER_MISS_WINDOW_SECONDS: {
    kind: 'int',
    min: 1,
    max: 86400,
    default: '3600',
    doc: 'The window TRANSFER_MISS_LIMIT counts in (it starts with the first transfer after the previous one ended).',
  },
  SMTP_HOST: {
    kind: 'string',
    doc: 'SMTP server for e-mail notifications and password-reset e-mails; without it the email channel is off (deliveries are skipped) and password reset is not offered (409).',
  },
  SMTP_PORT: { kind: 'int', min: 1, max: 65535, default: '587', doc: 'Port of the SMTP server.' },
  SMTP_SECURE: {
    kind: 'enum',
    values: ['true', 'false'],
    default: 'false',
    doc: 'true for implicit TLS (port 465); with false, STARTTLS is used when the server offers it, and required with SMTP_USER set or in production unless SMTP_HOST is a loopback address.',
  },
  SMTP_REQUIRE_TLS: {
    kind: 'enum',
    values: ['true', 'false'],
    doc: 'Whether STARTTLS is required of the relay (one offering none is refused). Unset: required with SMTP_USER set, and in production unless SMTP_HOST is a loopback address; false for a relay on a private network that speaks no TLS.',
  },
  SMTP_USER: { kind: 'string', doc: 'SMTP user name, when the server wants a login.' },
  SMTP_PASSWORD: { kind: 'string', secret: true, doc: 'SMTP password (or SMTP_PASSWORD_FILE).' },
  MAIL_FROM: {
    kind: 'string',
    default: 'Protobank <no-reply@protobank.example>',
    doc: 'From address of notification and password-reset e-mails.',
  },
  BANK_TIME_ZONE: {
    kind: 'time_zone',
    default: 'Europe/London',
    doc: "The bank's time zone (IANA name), which makes a bank day everywhere: scheduled payments and standing orders fall due on its calendar dates, statements and transaction history read a date as its day there, and analytics count days and months there.",
  },
  BANK_HOLIDAYS: {
    kind: 'date_list',
    default: '',
    doc: 'Comma-separated ISO dates (YYYY-MM-DD) that are not working days: a payment due on one, or on a weekend, is made on the next working day.',
  },
  BANK_WEEKEND: {
    kind: 'list',
    values: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'none'],
    default: 'saturday,sunday',
    doc: 'Comma-separated weekdays that are not working days (`friday,saturday` in some countries); `none` makes every day one that is not a holiday.',
  },
  LOG_LEVEL: {
    kind: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    doc: 'Minimum log level.',
  },
  LOG_FORMAT: {
    kind: 'enum',
    values: ['json', 'pretty'],
    doc: 'json (default in production) or pretty (default otherwise).',
  },
  CORS_ORIGINS: {
    kind: 'list',
    default: '',
    doc: 'Comma-separated origins allowed by CORS; empty allows none.',
  },
  BODY_LIMIT: { kind: 'string', default: '1mb', doc: 'Largest accepted request body; larger ones get 413.' },
  HTTP_REQUEST_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600000,
    default: '30000',
    doc: 'Time a client has to send a whole request, headers and body (then 408 and the connection is closed). Responses and streams are not limited by it.',
  },
  HTTP_HEADERS_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600000,
    default: '10000',
    doc: 'Time a client has to send the request headers (then 408); at most HTTP_REQUEST_TIMEOUT_MS.',
  },
  METRICS_TOKEN: {
    kind: 'string',
    secret: true,
    pattern: /^[\x21-\x7e]{16,}$/,
    doc: 'Bearer token /metrics requires (16 or more visible ASCII characters); production refuses to start without it. Unset elsewhere: /metrics is open.',
  },
  SHUTDOWN_TIMEOUT_MS: {
    kind: 'int',
    min: 0,
    max: 120000,
    default: '10000',
    doc: 'Grace period to drain requests and consumers on SIGTERM.',
  },
  SHUTDOWN_DELAY_MS: {
    kind: 'int',
    min: 0,
    max: 60000,
    default: '0',
    doc: 'Time between SIGTERM and the drain, during which /health/ready answers 503 and requests are still served, so a balancer that routes by readiness stops sending new ones first (behind Kubernetes: a little over the readiness probe period). The drain then has SHUTDOWN_TIMEOUT_MS.',
  },
} as const satisfies Record<string, VariableSpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
