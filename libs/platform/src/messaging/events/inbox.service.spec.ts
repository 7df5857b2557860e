import type { DiscoveryService } from '@nestjs/core';
import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import type { MetricsService } from '../../metrics/metrics.service';
import { InboxService } from './inbox.service';
import { InboxRegistration } from './outbox-registration';

/** A database whose transactions take a moment and count how many are open at once. */
function database() {
  const seen = { open: 0, most: 0 };
  const manager = {
    query: async (sql: string, params: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      // The inbox insert: every id is new.
      if (sql.includes('unnest')) return (params[0] as string[]).map((event_id) => ({ event_id }));
      return [{ event_id: params[0] }];
    },
  } as unknown as EntityManager;
  const dataSource = {
    transaction: async <T>(work: (m: EntityManager) => Promise<T>) => {
      seen.open++;
      seen.most = Math.max(seen.most, seen.open);
      try {
        return await work(manager);
      } finally {
        seen.open--;
      }
    },
  } as unknown as DataSource;
  return { dataSource, seen };
}

const inboxWith = (dataSource: DataSource, databasePoolSize: number) =>
  new InboxService(
    dataSource,
    { inboxEvents: { inc: () => undefined } } as unknown as MetricsService,
    { getProviders: () => [{ instance: new InboxRegistration('analytics') }] } as unknown as DiscoveryService,
    { databasePoolSize } as AppConfig,
  );

describe('InboxService', () => {
  it("keeps consumers' transactions to half the pool at once, whatever calls them, and runs every one", async () => {
    const { dataSource, seen } = database();
    const inbox = inboxWith(dataSource, 10);
    let applied = 0;
    const effect = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      applied++;
    };
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => inbox.once('analytics', 'A.one', `e${i}`, effect)),
      ...Array.from({ length: 10 }, (_, i) =>
        inbox.onceEach('analytics', 'B.batch', [{ event_id: `b${i}` }], effect),
      ),
    ]);
    expect(applied).toBe(40);
    expect(seen.most).toBe(5);
  });

  it('takes one at a time with a pool of one', async () => {
    const { dataSource, seen } = database();
    const inbox = inboxWith(dataSource, 1);
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => inbox.once('analytics', 'A.one', `e${i}`, async () => {})),
    );
    expect(seen.most).toBe(1);
  });
});
