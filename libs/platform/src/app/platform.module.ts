import { type DynamicModule } from '@nestjs/common';
import { APP_GUARD, ModuleRef } from '@nestjs/core';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { ConfigSource } from '../config/config-section';
import { DatabaseModule } from '../database/database.module';
import { OWNER_LOGIN } from '../database/runtime-role-check';
import { HealthModule } from '../health/health.module';
import { LOGGER } from '../logging/logging.tokens';
import { MessagingModule, type MessagingOptions } from '../messaging/messaging.module';
import { MetricsModule } from '../metrics/metrics.module';
import { DeclaredInputGuard } from '../http/declared-input';
import { RedisModule } from '../redis/redis.module';
import { VersionedCache } from '../redis/versioned-cache';
import { AuthGuard } from '../security/auth.guard';
import { RateLimitGuard } from '../security/rate-limit.guard';
import { RateLimiter } from '../security/rate-limiter';
import { StaffGate } from '../security/staff-gate';
import { LiveSession } from '../security/live-session';
import { bootKeys } from '../security/boot-keys';
import { JwtStrategy } from '../security/jwt.strategy';
import { KeyRing } from '../security/key-ring';
import { SERVICE_NAME } from './service.tokens';

export interface PlatformOptions extends MessagingOptions {
  service: string;
  config: AppConfig;
  /** Where each module reads its own configuration: process.env unless given. */
  configSource?: ConfigSource;
  logger: Logger;
  /** Runs as the schema's owner on purpose (the restore); production apps otherwise refuse to. */
  ownerLogin?: boolean;
}

/**
 * What every app has, whatever it hosts: config, logs, database, Redis, messaging, health, metrics, and
 * the access-token guard on every route.
 */
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      imports: [DatabaseModule, RedisModule, MessagingModule.forRoot(options), HealthModule, MetricsModule],
      providers: [
        { provide: AppConfig, useValue: options.config },
        {
          provide: ConfigSource,
          useValue: options.configSource ?? new ConfigSource(process.env, options.config),
        },
        { provide: SERVICE_NAME, useValue: options.service },
        { provide: LOGGER, useValue: options.logger },
        { provide: OWNER_LOGIN, useValue: options.ownerLogin ?? false },
        {
          provide: KeyRing,
          useFactory: (moduleRef: ModuleRef) =>
            new KeyRing(
              bootKeys(options.config),
              options.config.jwtKeysRefreshSeconds,
              options.logger,
              moduleRef,
            ),
          inject: [ModuleRef],
        },
        JwtStrategy,
        RateLimiter,
        StaffGate,
        VersionedCache,
        LiveSession,
        // In this order: who is calling, then how often, then what they sent.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        // Then, before the pipes: nothing sent that the route does not read.
        { provide: APP_GUARD, useClass: DeclaredInputGuard },
      ],
      exports: [
        AppConfig,
        ConfigSource,
        SERVICE_NAME,
        LOGGER,
        OWNER_LOGIN,
        KeyRing,
        RateLimiter,
        StaffGate,
        VersionedCache,
        LiveSession,
      ],
    };
  }
}
