import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig, LOGGER, MetricsService, withSessionLock, ADVISORY_LOCKS } from '@protobank/platform';
import type { Logger } from 'pino';
import { LedgerVerifyService } from './ledger-verify.service';
import { TransactionsConfig } from '../transactions.config';

/**
 * Session advisory lock of the periodic verification: one replica verifies at a time (on a direct
 * connection, see withSessionLock: behind PgBouncer a pooled one would leak it).
 */
const VERIFY_LOCK = ADVISORY_LOCKS.ledgerVerification;
/** After a run that could not complete (the database away, migrations pending), try again this soon. */
const RETRY_MS = 60_000;
/** Shutdown waits this long at most for a cancelled run to give its connection back. */
const SHUTDOWN_WAIT_MS = 2000;

/**
 * Verifies the ledger every LEDGER_VERIFY_INTERVAL_MINUTES (0: never), and once right after boot, so a
 * fresh app reports ledger_verification_* (set by LedgerVerifyService) without waiting an interval. A
 * replica that finds another verifying skips its turn. Shutdown never waits for a run: the statement
 * running is cancelled, and the run gives up.
 */
@Injectable()
export class LedgerVerifySchedule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(
    private readonly verifier: LedgerVerifyService,
    private readonly config: AppConfig,
    private readonly ledgerConfig: TransactionsConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const minutes = this.ledgerConfig.ledgerVerifyIntervalMinutes;
    // What LedgerVerificationStale compares the last run's age with (0: no periodic verification here).
    this.metrics.gauge(
      'ledger_verification_interval_seconds',
      'LEDGER_VERIFY_INTERVAL_MINUTES in seconds: how often this app verifies the ledger (0: never)',
      () => minutes * 60,
    );
    if (minutes > 0) this.next(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.stop.abort();
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running,
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  private next(ms: number): void {
    if (this.stop.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.running = this.run().then((delay) => {
        this.running = undefined;
        this.next(delay);
      });
    }, ms);
    this.timer.unref();
  }

  /** One turn; answers when the next one is due. */
  private async run(): Promise<number> {
    const interval = this.ledgerConfig.ledgerVerifyIntervalMinutes * 60_000;
    try {
      const held = await withSessionLock(this.config.databaseListenUrl, VERIFY_LOCK, () =>
        this.verifier.verify(this.stop.signal),
      );
      if (!held.locked) this.logger.debug('ledger verification skipped: another replica is verifying');
      return interval;
    } catch (err) {
      if (this.stop.signal.aborted) return interval;
      this.logger.warn({ err }, 'ledger verification did not complete; trying again in a minute');
      return Math.min(RETRY_MS, interval);
    }
  }
}
