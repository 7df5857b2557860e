import { Controller } from '@nestjs/common';
import type { TransactionCreatedEvent } from '@protobank/contracts';
import { AppConfig, InboxService, OnEventBatch } from '@protobank/platform';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { DaySummary, SummaryVersion } from '../summaries/day-summary';
import { readRollupsOf } from '../summaries/rollup-reads';
import { SummaryCache } from '../summaries/summary-cache';
import { recordMovements } from './movement-writes';
import { movementsOf } from './movements';

const CONSUMER = 'TransactionCreatedHandler.onTransactionCreated';

/**
 * Keeps analytics in step with the ledger: each journal entry's movements, the daily rollups and the
 * Redis copy of the days they change. Idempotent twice over: the inbox skips a redelivered event, and
 * a movement already recorded (by a rebuild) adds nothing.
 */
@Controller()
export class TransactionCreatedHandler {
  constructor(
    private readonly inbox: InboxService,
    private readonly cache: SummaryCache,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * A batch of events in one transaction: one inbox statement, one version bump per user, one movement
   * insert with its rollups, one read-back of the days the batch changed for all its users.
   */
  @OnEventBatch('transaction.created')
  async onTransactionCreated(events: TransactionCreatedEvent[]): Promise<void> {
    const zone = this.config.bankTimeZone;
    const withMovements = events.filter((e) => movementsOf(e, zone).length > 0);
    if (withMovements.length === 0) return;
    const changed: { userId: string; at: SummaryVersion; days: DaySummary[] }[] = [];
    const applied = new Set<string>();
    await this.inbox.onceEach('analytics', CONSUMER, withMovements, async (m, fresh) => {
      for (const e of fresh) applied.add(e.event_id);
      const movements = fresh.flatMap((e) => movementsOf(e, zone));
      const daysOf = daysByUser(movements);
      const users = [...daysOf.keys()].sort();
      // The user rows are the lock that orders this user's events (taken in id order: no deadlock between
      // batches) and the version that orders their copies in Redis. A rebuild's final step locks the
      // whole table, so no event is half-way through while it recomputes.
      // Waiting longer than this (a rebuild's swap holds the table) gives the connection back and lets
      // the delivery be retried, rather than pin a pooled connection other work needs.
      await m.query(`SET LOCAL lock_timeout = '2s'`);
      await this.bumpVersions(m, users);
      await recordMovements(m, movements);
      // Read back under the lock: no other event of these users can change these days before commit.
      const read = await readRollupsOf(m, new Map(users.map((u) => [u, [...daysOf.get(u)!].sort()])));
      for (const userId of users) changed.push({ userId, ...read.get(userId)! });
    });
    // Events applied before (a redelivery): their days are written to Redis again from the rollups. The
    // first delivery may have committed and then died, or found Redis refusing, before its copy was
    // written, and a past day gets no other event to refresh it: its stale copy stayed for good. One
    // read (figures and version in one statement); a copy never replaces a newer one.
    const again = daysByUser(
      withMovements.filter((e) => !applied.has(e.event_id)).flatMap((e) => movementsOf(e, zone)),
    );
    if (again.size > 0) {
      const read = await readRollupsOf(
        this.dataSource,
        new Map([...again].map(([u, days]) => [u, [...days].sort()])),
      );
      for (const userId of again.keys()) changed.push({ userId, ...read.get(userId)! });
    }
    // After commit, since a copy written before could outlive a rollback. A Redis failure is logged,
    // never thrown: the rollups are the truth (see SummaryCache.write). Issued together, the writes go
    // to Redis as one pipeline.
    await Promise.all(changed.map((c) => this.cache.write(c.userId, c.at, c.days)));
  }

  /** One statement, users in id order (unique: a row is updated once per statement). */
  private async bumpVersions(m: EntityManager, userIds: string[]): Promise<void> {
    await m.query(
      `INSERT INTO analytics.user_versions AS u (user_id, version)
       SELECT id, 1 FROM unnest($1::uuid[]) AS id ORDER BY id
       ON CONFLICT (user_id) DO UPDATE SET version = u.version + 1`,
      [userIds],
    );
  }
}

/** The days each user's movements fall on. */
function daysByUser(movements: { user_id: string; day: string }[]): Map<string, Set<string>> {
  const daysOf = new Map<string, Set<string>>();
  for (const mv of movements) daysOf.set(mv.user_id, (daysOf.get(mv.user_id) ?? new Set()).add(mv.day));
  return daysOf;
}
