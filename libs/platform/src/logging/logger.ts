import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { requestContext } from '../context/request-context';
import { activeTraceIds } from '../tracing/tracing';
import { emitSecurityEvent, securityEventOf } from './security-events';

/**
 * Structured logs: one JSON object a line in production (pretty in development), each carrying the
 * service name and, inside a request or a message handler, its request id. Secrets, tokens, card and
 * document numbers are never logged; the redact list is the backstop, not the policy.
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
    redact: {
      paths: [
        '*.password',
        '*.authorization',
        '*.refresh_token',
        '*.access_token',
        '*.document_number',
        '*.card_number',
        // Card numbers and security codes: top level and nested, as any log call may place them.
        'pan',
        'cvc',
        '*.pan',
        '*.cvc',
        '*.*.pan',
        '*.*.cvc',
      ],
      censor: '[redacted]',
    },
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
  return out;
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
