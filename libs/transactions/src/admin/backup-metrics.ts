import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MetricsService, withTimeout } from '@protobank/platform';
import type { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';

/** A scrape waits this long for the read at most; without an answer the last value stays. */
const READ_TIMEOUT_MS = 1000;

/**
 * backup_last_success_timestamp_seconds: when the newest backup recorded in ops.backups finished
 * (scripts/backup.sh records each one once its file is in place; a restore records the file it
 * restored). Read at scrape time through the finished_at index; 0 while none is recorded (a deployment
 * that takes no backups here: prom-client exports an unlabelled gauge it never set as 0), which
 * BackupTooOld leaves out, so it fires only once backups have been seen and then stop. Reported by the
 * app that hosts the ledger (transactions, or the monolith): one series per deployment.
 */
@Injectable()
export class BackupMetrics implements OnApplicationBootstrap {
  private reading?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.labelledGauge(
      'backup_last_success_timestamp_seconds',
      'When the newest backup recorded in ops.backups finished (Unix seconds; 0 before the first)',
      [],
      (gauge) => withTimeout(this.read(gauge), READ_TIMEOUT_MS).catch(() => undefined),
    );
  }

  private read(gauge: Gauge): Promise<void> {
    this.reading ??= (async () => {
      const [row] = (await this.dataSource.query(
        `SELECT extract(epoch FROM max(finished_at))::float8 AS at FROM ops.backups`,
      )) as { at: number | null }[];
      if (row?.at != null) gauge.set(row.at);
    })().finally(() => (this.reading = undefined));
    return this.reading;
  }
}
