import { Module, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Server, ServerResponse } from 'node:http';
import type { ContractDef } from '@protobank/contracts';
import type { Logger } from 'pino';
import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigSource, sectionsOf, withoutNamed } from '../config/config-section';
import { ConfigError } from '../config/variables';
import { ensureDatabase } from '../database/ensure-database';
import { setupDocs } from '../docs/swagger';
import { ShutdownState } from '../health/shutdown-state';
import {
  clientErrorHandler,
  configureHttp,
  connectionsCheckingInterval,
  frameworkErrorHandler,
  parseBytes,
  ROUTER_OPTIONS,
  trustProxyOption,
} from '../http/configure-http';
import { createLogger, PinoNestLogger } from '../logging/logger';
import type { Transport } from '../messaging/messaging.module';
import { connectTransport } from '../messaging/transport/connect-transport';
import { startTracing } from '../tracing/tracing';
import { keyProblems } from '../security/boot-keys';
import { PlatformModule } from './platform.module';

/** One deployable: which modules it hosts, how it reaches the rest, where it listens by default. */
export interface AppDefinition {
  service: string;
  port: number;
  transport: Transport;
  modules: (Type<unknown> | DynamicModule)[];
  serves?: ContractDef<unknown>[];
  calls?: ContractDef<unknown>[];
}

@Module({})
class RootModule {}

export async function createApp(
  def: AppDefinition,
  config: AppConfig,
  logger: Logger,
  configSource: ConfigSource,
): Promise<INestApplication> {
  // Never in production: there the database is made by its operator or `migrate --create-database`.
  if (await ensureDatabase(config.databaseUrl, { create: config.nodeEnv !== 'production' }))
    logger.info('created database');
  const root: DynamicModule = {
    module: RootModule,
    imports: [
      PlatformModule.forRoot({
        service: def.service,
        config,
        configSource,
        logger,
        transport: def.transport,
        serves: def.serves,
        calls: def.calls,
      }),
      ...def.modules,
    ],
  };
  const adapter = new FastifyAdapter({
    // The client IP (rate limits, session list) comes from X-Forwarded-For only when set by a trusted
    // proxy. A hop count becomes a function: Fastify 5 ignores a plain number (it fails closed).
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: parseBytes(config.bodyLimit),
    routerOptions: ROUTER_OPTIONS,
    // While draining, requests on open connections are still served (and told Connection: close).
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(logger),
    // A client has HTTP_REQUEST_TIMEOUT_MS to send a whole request (headers within
    // HTTP_HEADERS_TIMEOUT_MS), however it trickles: a slow body would otherwise hold its socket and
    // its request open for ever. Node checks these every connectionsCheckingInterval (30 s by default,
    // too coarse for a timeout of a few seconds), an option of the server only: Fastify hands `http` to
    // http.createServer. Only receiving the request is timed: a long response (the SSE stream) is not.
    requestTimeout: config.httpRequestTimeoutMs,
    http: {
      // Node would answer an HTTP/1.1 request without Host itself, with an empty 400: configureHttp
      // refuses it in the one error shape instead.
      requireHostHeader: false,
      requestTimeout: config.httpRequestTimeoutMs,
      headersTimeout: config.httpHeadersTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(config.httpHeadersTimeoutMs),
    },
    clientErrorHandler: clientErrorHandler(logger),
  });
  const app = await NestFactory.create(root, adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
    // A provider that cannot be built is thrown to runApp, which logs it and exits 1, instead of Nest
    // aborting the process.
    abortOnError: false,
  });
  configureHttp(app, config, logger);
  setupDocs(app, def.service);
  connectTransport(app);
  return app;
}

/**
 * The platform's configuration and that of every module the app hosts, checked together before anything
 * connects: the configuration, or ConfigError naming every bad variable.
 */
function configure(def: AppDefinition, env: NodeJS.ProcessEnv): { config: AppConfig; source: ConfigSource } {
  let config: AppConfig | undefined;
  const problems: string[] = [];
  try {
    config = loadConfig(env);
    // The access-token keys too: otherwise found while Nest builds the app, after it connected.
    problems.push(...keyProblems(config));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const source = new ConfigSource(env, config);
  problems.push(...withoutNamed(source.problems(sectionsOf(def.modules)), problems));
  if (problems.length) throw new ConfigError(problems);
  return { config: config!, source };
}

/** The main() of every app: validated config or a clear exit, then serve until SIGTERM, then drain. */
export async function runApp(def: AppDefinition): Promise<void> {
  let config: AppConfig;
  let source: ConfigSource;
  try {
    ({ config, source } = configure(def, process.env));
  } catch (err) {
    process.stderr.write(`${def.service}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger(config, def.service);
  let app: INestApplication;
  let stopTracing: (() => Promise<void>) | undefined;
  try {
    // Before the app is built, so the first request is traced; a no-op unless OTEL_* ask for traces.
    stopTracing = await startTracing(def.service);
    if (stopTracing) logger.info('tracing on: spans exported over OTLP');
    app = await createApp(def, config, logger, source);
    // Modules initialised (clients, channels) before the transport takes messages, and both before HTTP.
    await app.init();
    await app.startAllMicroservices();
    await app.listen(config.port ?? def.port, config.host);
  } catch (err) {
    logger.fatal({ err }, 'could not start');
    setTimeout(() => process.exit(1), 100);
    return;
  }
  logger.info(
    { port: config.port ?? def.port, transport: def.transport },
    `${def.service} ready; docs at /docs`,
  );

  let delayed: NodeJS.Timeout | undefined;
  let stoppingSince = 0;
  let draining = false;
  const shutdown = (signal: string) => {
    if (draining) return;
    // A second signal during the delay (Ctrl-C twice) drains at once; not one within a second of the
    // first, which is the same stop reaching the app twice (Ctrl-C signals the whole process group, and
    // npm start's wrapper then sends SIGTERM; systemd's control-group kill does the same).
    if (delayed) {
      if (Date.now() - stoppingSince < 1000) return;
      clearTimeout(delayed);
      return drain(signal);
    }
    stoppingSince = Date.now();
    // Readiness answers 503 from now on. For SHUTDOWN_DELAY_MS everything else is served as before, so a
    // balancer that routes by readiness has time to stop sending requests here before the listener
    // closes (connections refused would otherwise be its first news of it).
    app.get(ShutdownState).begin();
    const delay = config.shutdownDelayMs;
    if (delay === 0) return drain(signal);
    logger.info({ signal, delay_ms: delay }, 'stopping: not ready, still serving');
    delayed = setTimeout(() => drain(signal), delay);
  };
  const drain = (signal: string) => {
    draining = true;
    logger.info({ signal }, 'shutting down: draining requests and consumers');
    setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    // Stop accepting connections first (Nest would close HTTP only after draining consumers); requests
    // already in flight finish, get `Connection: close`, and idle keep-alive sockets are closed as they
    // fall idle. Then Nest drains consumers (the transport strategy stops consuming and finishes what it
    // holds at beforeApplicationShutdown) and the relay, waits for the HTTP drain, closes the
    // microservice, and closes RabbitMQ, the database and Redis last.
    const server = app.getHttpServer() as Server;
    // Before Fastify's own listener: it answers some requests at once (a 404, a preflight), and a header
    // set after that throws ERR_HTTP_HEADERS_SENT, uncaught, ending the drain.
    server.prependListener('request', (_req, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
    server.close();
    setInterval(() => server.closeIdleConnections(), 100).unref();
    app
      .close()
      // The spans still batched go out before the exit (within the grace period above).
      .then(() => stopTracing?.())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
