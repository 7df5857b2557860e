import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { IdempotencyRetention } from './idempotency-retention';
import { RuntimeRoleCheck } from './runtime-role-check';

@Module({
  imports: [
    DiscoveryModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config), autoLoadEntities: true }),
    }),
  ],
  providers: [IdempotencyRetention, RuntimeRoleCheck],
  exports: [IdempotencyRetention],
})
export class DatabaseModule {}
