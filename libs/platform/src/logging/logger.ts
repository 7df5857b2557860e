import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { requestContext } from '../context/request-context';
import { activeTraceIds } from '../tracing/tracing';
import { emitSecurityEvent, securityEventOf } from './security-events';

/**
 * What a field named as a secret is called, whatever its case or separator (redactSecrets): passwords
 * and their hashes, passphrases, secrets, tokens of any kind (access, refresh, device, reset), one-time
 * codes, credentials in headers, keys (API, private, signing, encryption, data), card numbers and
 * security codes, PINs, identity document numbers. Matched on the key's last words, singular or plural:
 * `new_password`, `newPassword`, `x-api-key`, `webhook_secret`, `passwords`, but not `span`, `token_type`
 * or `pin_tries`.
 */
const SECRET_WORDS = (
  'password password_hash passphrase secret token otp authorization cookie api_key private_key secret_key ' +
  'signing_key encryption_key data_key pan cvc cvv pin card_number document_number'
).split(' ');
const pascal = (word: string) => word.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
/** snake_case and kebab-case (compared with `-` as `_`), any letter case. */
const SECRET_SNAKE = new RegExp(`(^|_)(${SECRET_WORDS.join('|')})s?$`, 'i');
/** camelCase and PascalCase: the words capitalised after a lower-case letter or digit, or the whole key. */
const SECRET_CAMEL = new RegExp(
  `(^|[a-z0-9])(${SECRET_WORDS.map(pascal).join('|')})s?$|^(${SECRET_WORDS.map((w) => pascal(w).replace(/^./, (c) => c.toLowerCase())).join('|')})s?$`,
);
const isSecretKey = (key: string) => SECRET_SNAKE.test(key.replace(/-/g, '_')) || SECRET_CAMEL.test(key);
/** A URL's password (`postgres://user:…@host`), in any string: the rest of the URL stays. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^/\s@]+@/gi;
const REDACTED = '[redacted]';
/** Deeper than any log call nests; past it a value is written as it is. */
const REDACT_DEPTH = 12;

/**
 * The log line's fields with every value under a secret's name (isSecretKey) replaced by `[redacted]`
 * (a flag, true or false, is kept), however deep (up to REDACT_DEPTH), in objects and arrays, and every
 * URL's password in a string. An error, under any key, is written as safeError writes it (which redacts
 * it the same way); a value with `toJSON` as that gives it, as JSON would; typed arrays as they are.
 * What holds nothing to hide is returned as it is, and nothing the caller passed is changed (copies are
 * made on the way to a replaced value).
 */
export function redactSecrets<T>(value: T, depth = 0, ancestors = new Set<object>()): T {
  if (typeof value === 'string')
    return (value.includes('://') ? value.replace(URL_PASSWORD, `$1${REDACTED}@`) : value) as T;
  if (depth > REDACT_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return safeError(value) as T;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') {
    const json = withJson.toJSON();
    return (json === value ? value : redactSecrets(json, depth, ancestors)) as T;
  }
  // A cycle is written as pino writes one; an object met twice on different branches is redacted twice.
  if (ancestors.has(value)) return '[Circular]' as T;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      value.forEach((item: unknown, i) => {
        const safe = redactSecrets(item, depth + 1, ancestors);
        if (safe !== item) (out ??= [...value])[i] = safe;
      });
      return (out ?? value) as T;
    }
    let out: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const safe =
        isSecretKey(key) && item !== undefined && item !== null && typeof item !== 'boolean'
          ? REDACTED
          : redactSecrets(item, depth + 1, ancestors);
      if (safe !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = safe;
    }
    return (out ?? value) as T;
  } finally {
    ancestors.delete(value);
  }
}

/** redactSecrets for a whole log line: one it cannot read (a getter that throws) is not written as it is. */
function safeFields<T extends object>(fields: T): T | { log_fields_unreadable: true } {
  try {
    return redactSecrets(fields);
  } catch {
    return { log_fields_unreadable: true };
  }
}

/**
 * Structured logs: one JSON object a line in production (pretty in development), each carrying the
 * service name and, inside a request or a message handler, its request id. Secrets, tokens, card and
 * document numbers are never logged; redactSecrets, over every line, is the backstop, not the policy.
 */
export function createLogger(config: AppConfig, service: string, destination?: DestinationStream): Logger {
  // Lines below LOG_LEVEL are not written, but a security event among them is still counted: the alerts
  // watch the count (security-events.ts), and a quieter log must not silence them. So pino runs at info
  // at most (login_failed, the lowest event, is logged at info) and the hook drops what LOG_LEVEL hides.
  // Hence no child logger may be given a level of its own, nor `logger.level` set at runtime: pino would
  // make the levels below it no-ops again, the hook included.
  const written = pino.levels.values[config.logLevel] ?? Infinity; // silent: nothing
  const options: pino.LoggerOptions = {
    level: written < pino.levels.values.info ? config.logLevel : 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const requestId = requestContext.requestId();
      // With tracing on, the active span's ids too, so a log line leads to its trace.
      const ids = activeTraceIds();
      if (ids) return requestId ? { request_id: requestId, ...ids } : ids;
      return requestId ? { request_id: requestId } : {};
    },
    // A field logged by mistake, at any depth (pino's redact paths name levels), and every error, under
    // `err` (pino puts one logged alone there) or any other key, through safeError; a child logger's
    // bindings: withRedactedChildren.
    formatters: { log: safeFields },
    hooks: {
      // Every security event logged is counted (security-events.ts), whatever LOG_LEVEL writes.
      logMethod(args, method, level) {
        const event = securityEventOf(args[0]);
        if (event) emitSecurityEvent(event);
        if (level < written) return;
        return method.apply(this, args);
      },
    },
  };
  if (destination) return withRedactedChildren(pino(options, destination));
  if (config.logFormat === 'pretty') {
    options.transport = {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    };
  }
  return withRedactedChildren(pino(options));
}

/**
 * A child logger's bindings pass redactSecrets too: pino gives children no bindings formatter, so the
 * root's `child` is wrapped, and every child (made from the root by prototype) inherits the wrapper.
 */
function withRedactedChildren(root: Logger): Logger {
  // pino's child() is generic in its custom levels, which this wrapper passes through untouched.
  type Child = (this: Logger, bindings: pino.Bindings, options?: unknown) => Logger;
  const child = root.child as unknown as Child;
  const redacting: Child = function (bindings, options) {
    return child.call(this, safeFields(bindings), options);
  };
  root.child = redacting as unknown as Logger['child'];
  return root;
}

/**
 * Errors as pino serialises them, minus what may carry customer data: a failed query's bound
 * `parameters` (e-mails, names, hashes), the driver's copy of them, and PostgreSQL's `detail` and
 * `where`, which TypeORM copies onto the error and which quote values ("Key (email)=(alice@…) already
 * exists", "JSON data, line 1: {"line1":"1 High Street…"). The code, table, column and constraint stay.
 * Likewise a Redis command's arguments, which ioredis puts on its errors (`command: {name, args}`: a
 * lockout counter's key is the e-mail): only the command's name stays.
 */
function safeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  delete out.parameters;
  delete out.driverError;
  delete out.detail;
  delete out.where;
  const command = out.command as { name?: unknown } | undefined;
  if (command && typeof command === 'object') out.command = { name: command.name };
  return redactSecrets(out);
}

/** Nest's LoggerService over pino, so framework messages land in the same structured stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    this.write('info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string) {
    const ctx = context ?? (stackOrContext && !stackOrContext.includes('\n') ? stackOrContext : undefined);
    const stack = stackOrContext?.includes('\n') ? stackOrContext : undefined;
    if (message instanceof Error) this.logger.error({ err: message, context: ctx }, message.message);
    else this.logger.error({ context: ctx, stack }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, context?: string) {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}
