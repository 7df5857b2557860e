import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { DeliveryQueue } from './delivery-queue';
import type { NotificationQueue } from './queues';

type Added = { name: string; data: unknown; opts?: { jobId?: string } }[];

/** A DeliveryQueue over a fake queue (records or refuses jobs) and a fake database (the sweep's rows). */
function setup(opts: { refuse?: boolean; pending?: unknown[] } = {}) {
  const added: Added = [];
  const warned: string[] = [];
  const queue = {
    name: 'notification-deliveries',
    on: () => undefined,
    addBulk: (jobs: Added) =>
      opts.refuse
        ? Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"))
        : Promise.resolve(void added.push(...jobs)),
  } as unknown as NotificationQueue<'deliveries'>;
  const sql: string[] = [];
  const dataSource = {
    query: (q: string) => Promise.resolve(void sql.push(q)).then(() => opts.pending ?? []),
  } as unknown as DataSource;
  const logger = {
    debug: () => undefined,
    warn: (_: unknown, msg: string) => void warned.push(msg),
  } as unknown as Logger;
  return { deliveries: new DeliveryQueue(queue, dataSource, logger), added, warned, sql };
}

describe('DeliveryQueue', () => {
  it('adds one job per delivery and generation, its id the row id and the generation', async () => {
    const { deliveries, added } = setup();
    await deliveries.enqueue([
      { delivery_id: 'd1', generation: 0 },
      { delivery_id: 'd1', generation: 1 },
    ]);
    expect(added).toEqual([
      { name: 'deliver', data: { delivery_id: 'd1', generation: 0 }, opts: { jobId: 'd1-0' } },
      { name: 'deliver', data: { delivery_id: 'd1', generation: 1 }, opts: { jobId: 'd1-1' } },
    ]);
  });

  it('answers 503 queue_unavailable when Redis refuses the jobs', async () => {
    const { deliveries } = setup({ refuse: true });
    await expect(deliveries.enqueue([{ delivery_id: 'd1', generation: 0 }])).rejects.toMatchObject({
      status: 503,
      code: 'queue_unavailable',
    });
  });

  it('after commit, logs a refusal and leaves the rows to the sweep', async () => {
    const { deliveries, warned } = setup({ refuse: true });
    await deliveries.enqueueAfterCommit([{ delivery_id: 'd1', generation: 0 }]);
    expect(warned).toEqual(['deliveries not enqueued; the sweep will']);
  });

  it('sweeps pending rows left without a job back into the queue, with the same job ids', async () => {
    const { deliveries, added, sql } = setup({ pending: [{ delivery_id: 'd2', generation: 3 }] });
    await expect(deliveries.sweep()).resolves.toBe(1);
    expect(sql[0]).toContain("status = 'pending'");
    expect(added).toEqual([
      { name: 'deliver', data: { delivery_id: 'd2', generation: 3 }, opts: { jobId: 'd2-3' } },
    ]);
  });
});
