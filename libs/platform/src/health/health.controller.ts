import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { Public } from '../security/decorators';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { DataSource, MigrationExecutor } from 'typeorm';
import { AppError } from '../errors/app-error';
import { ErrorResponseDto } from '../http/error-response.dto';
import { RmqConnection } from '../messaging/rmq-connection';
import { RedisService } from '../redis/redis.module';
import { NoDependencies } from '../docs/common-responses';
import { healthView, HealthResponseDto } from './health-response.dto';
import { ShutdownState } from './shutdown-state';

const CHECK_TIMEOUT_MS = 1500;
const NOT_READY = 'A dependency is down, or the app is stopping (SIGTERM); details name it';

/**
 * live: the process answers (restart me if not). ready: every dependency this app uses answers, no
 * migration is pending and the app is not stopping (send me traffic). Not ready is 503 in the one error
 * shape, naming each failing dependency (or `shutdown`) in `details`.
 */
@ApiTags('health')
@Controller('health')
@Public()
// Readiness documents its own 503 (naming what is not ready); liveness needs nothing.
@NoDependencies()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly stopping: ShutdownState,
    @Optional() @Inject(RmqConnection) private readonly rmq?: RmqConnection,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: HealthResponseDto })
  async live(): Promise<HealthResponseDto> {
    return healthView(await this.health.check([]));
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: Postgres, Redis, RabbitMQ (split apps) and migrations' })
  @ApiOkResponse({ type: HealthResponseDto })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: NOT_READY,
  })
  ready(): Promise<HealthResponseDto> {
    return this.readiness();
  }

  @Get()
  @ApiOperation({ summary: 'Same as /health/ready' })
  @ApiOkResponse({ type: HealthResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: NOT_READY })
  root(): Promise<HealthResponseDto> {
    return this.readiness();
  }

  /**
   * DataSource.showMigrations() on a query runner of our own, released whatever happens: TypeORM's own
   * releases the one it makes only when every query succeeded, so a query that failed (cancelled, refused)
   * would keep a pool connection for good, one per probe.
   */
  private async pendingMigrations(): Promise<boolean> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return await new MigrationExecutor(this.dataSource, runner).showMigrations();
    } finally {
      await runner.release();
    }
  }

  private async readiness(): Promise<HealthResponseDto> {
    if (this.stopping.now) {
      throw new AppError(503, 'not_ready', 'not ready: stopping', [
        { field: 'shutdown', message: 'stopping: taking no new traffic (SHUTDOWN_DELAY_MS, then the drain)' },
      ]);
    }
    const checks: HealthIndicatorFunction[] = [
      () => this.db.pingCheck('postgres', { timeout: CHECK_TIMEOUT_MS }),
      () =>
        this.indicators
          .check('redis')
          .attempt(() => this.redis.ping(CHECK_TIMEOUT_MS))
          .withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            if (await this.pendingMigrations())
              throw new Error('pending migrations: run npm run migration:run');
          })
          .withTimeout(CHECK_TIMEOUT_MS),
    ];
    const rmq = this.rmq;
    if (rmq) {
      checks.push(() => {
        const session = this.indicators.check('rabbitmq');
        const problems = rmq.problems();
        return problems.length ? session.down({ message: problems.join('; ') }) : session.up();
      });
    }
    try {
      return healthView(await this.health.check(checks));
    } catch (err) {
      const body = (err as { response?: { error?: Record<string, { message?: string }> } }).response;
      const failing = Object.entries(body?.error ?? {});
      if (failing.length === 0) throw err;
      throw new AppError(
        503,
        'not_ready',
        `not ready: ${failing.map(([name]) => name).join(', ')}`,
        failing.map(([name, info]) => ({ field: name, message: info.message ?? 'down' })),
      );
    }
  }
}
