import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { requestContext } from '../context/request-context';

/**
 * Structured logs: one JSON object a line in production (pretty in development), each carrying the
 * service name and, inside a request or a message handler, its request id. Secrets, tokens, card and
 * document numbers are never logged; the redact list is the backstop, not the policy.
 */
export function createLogger(config: AppConfig, service: string): Logger {
  return pino({
    level: config.logLevel,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const requestId = requestContext.requestId();
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
        '*.pan',
      ],
      censor: '[redacted]',
    },
    transport:
      config.logFormat === 'pretty'
        ? {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          }
        : undefined,
  });
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
