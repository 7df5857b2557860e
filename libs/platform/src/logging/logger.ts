import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { requestContext } from '../context/request-context';
import { activeTraceIds } from '../tracing/tracing';
import { emitSecurityEvent, securityEventOf } from './security-events';

/**
 * Keys whose values are never written, at any depth of a log line (redactSecrets): passwords and
 * passphrases, secrets, tokens of any kind (access, refresh, device, reset), credentials in headers,
 * card numbers and security codes, PINs, identity document numbers. Matched on the key's last word, so
 * `new_password` and `webhook_secret` are covered and `span` or `token_type` are not.
 */
const SECRET_KEY =
  /(^|_|-)(password|passphrase|secret|token|authorization|cookie|pan|cvc|cvv|pin|card_number|document_number)$/i;
const REDACTED = '[redacted]';
/** Deeper than any log call nests; past it a value is written as it is. (A flag, true or false, is kept.) */
const REDACT_DEPTH = 12;

/**
 * The log line's fields with every value under a SECRET_KEY replaced by `[redacted]`, however deep (up to
 * REDACT_DEPTH), in objects and arrays; what holds none is returned as it is, and nothing the caller
 * passed is changed (copies are made on the way to a replaced value). Errors are left to their
 * serializer (safeError), which redacts its output the same way.
 */
export function redactSecrets<T>(value: T, depth = 0, ancestors = new Set<object>()): T {
  if (depth > REDACT_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error || value instanceof Date || Buffer.isBuffer(value)) return value;
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
        SECRET_KEY.test(key) && item !== undefined && item !== null && typeof item !== 'boolean'
          ? REDACTED
          : redactSecrets(item, depth + 1, ancestors);
      if (safe !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = safe;
    }
    return (out ?? value) as T;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * Structured logs: one JSON object a line in production (pretty in development), each carrying the
 * service name and, inside a request or a message handler, its request id. Secrets, tokens, card and
 * document numbers are never logged; redactSecrets, over every line, is the backstop, not the policy.
 */
export function createLogger(config: AppConfig, service: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const requestId = requestContext.requestId();
      // With tracing on, the active span's ids too, so a log line leads to its trace.
      const ids = activeTraceIds();
      if (ids) return requestId ? { request_id: requestId, ...ids } : ids;
      return requestId ? { request_id: requestId } : {};
    },
    // Before the serializers: a field logged by mistake, at any depth (pino's redact paths name levels).
    formatters: { log: (fields) => redactSecrets(fields) },
    serializers: { err: safeError },
    hooks: {
      // Every security event logged is counted (security-events.ts): at its log level, so one logged
      // at info (login_failed) is counted only with LOG_LEVEL info or lower.
      logMethod(args, method) {
        const event = securityEventOf(args[0]);
        if (event) emitSecurityEvent(event);
        return method.apply(this, args);
      },
    },
  };
  if (destination) return pino(options, destination);
  if (config.logFormat === 'pretty') {
    options.transport = {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    };
  }
  return pino(options);
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
