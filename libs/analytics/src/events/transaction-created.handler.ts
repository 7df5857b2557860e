import { Controller } from '@nestjs/common';
import type { TransactionCreatedEvent } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import type { EntityManager } from 'typeorm';
import type { DaySummary, SummaryVersion } from '../summaries/day-summary';
import { readRollups } from '../summaries/rollup-reads';
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
  ) {}

  @OnEvent('transaction.created')
  async onTransactionCreated(event: TransactionCreatedEvent): Promise<void> {
    const movements = movementsOf(event);
    if (movements.length === 0) return;
    const changed: { userId: string; at: SummaryVersion; day: DaySummary }[] = [];
    await this.inbox.once('analytics', CONSUMER, event.event_id, async (m) => {
      const users = [...new Set(movements.map((mv) => mv.user_id))].sort();
      // The user rows are the lock that orders this user's events (taken in id order: two users, no
      // deadlock) and the version that orders their copies in Redis. A rebuild's final step locks the
      // whole table, so no event is half-way through while it recomputes.
      // Waiting longer than this (a rebuild's swap holds the table) gives the connection back and lets
      // the delivery be retried, rather than pin a pooled connection other work needs.
      await m.query(`SET LOCAL lock_timeout = '2s'`);
      for (const userId of users) await this.bumpVersion(m, userId);
      await recordMovements(m, movements);
      // Read back under the lock: no other event of these users can change these days before commit.
      for (const userId of users) {
        const read = await readRollups(m, userId, [movements[0].day]);
        changed.push({ userId, at: read.at, day: read.days[0] });
      }
    });
    // After commit, since a copy written before could outlive a rollback. A Redis failure is logged,
    // never thrown: the rollups are the truth (see SummaryCache.write).
    for (const c of changed) await this.cache.write(c.userId, c.at, [c.day]);
  }

  private async bumpVersion(m: EntityManager, userId: string): Promise<void> {
    await m.query(
      `INSERT INTO analytics.user_versions AS u (user_id, version) VALUES ($1, 1)
       ON CONFLICT (user_id) DO UPDATE SET version = u.version + 1`,
      [userId],
    );
  }
}
