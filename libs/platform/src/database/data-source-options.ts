import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '@protobank/migrations';
import type { AppConfig } from '../config/app-config';

/**
 * The one DataSource definition, shared by every app (through TypeOrmModule) and by the migration CLI.
 * The schema changes only through migrations: synchronize is off everywhere and always.
 */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.databaseUrl,
    poolSize: config.databasePoolSize,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    applicationName: 'protobank',
    extra: { connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 },
  };
}
