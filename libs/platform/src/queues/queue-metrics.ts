import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Queue } from 'bullmq';
import type { Gauge } from 'prom-client';
import { withTimeout } from '../metrics/bounded';
import { MetricsService } from '../metrics/metrics.service';

export const QUEUE_METRIC = 'bullmq_jobs';
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape waits this long for Redis at most; without an answer a queue's last counts stay. */
export const QUEUE_READ_TIMEOUT_MS = 1000;

/**
 * bullmq_jobs{queue,state}: the jobs of each BullMQ queue this app registered (BullModule.registerQueue,
 * found through Nest's discovery), read with Queue.getJobCounts when /metrics is scraped. A Redis outage
 * never holds a scrape: the queues' producer connections fail fast (no offline queue, a command timeout),
 * each read is bounded by QUEUE_READ_TIMEOUT_MS besides, and a queue that did not answer keeps its last
 * counts (absent until the first answer). Queues whose jobs are removed when they fail (notification deliveries) always show 0 failed.
 */
@Injectable()
export class QueueMetrics implements OnApplicationBootstrap {
  private readonly reading = new Map<string, Promise<void>>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const queues = [
      ...new Set(
        this.discovery
          .getProviders()
          .map((w) => w.instance as unknown)
          .filter((i): i is Queue => i instanceof Queue),
      ),
    ];
    if (queues.length === 0) return;
    this.metrics.labelledGauge(
      QUEUE_METRIC,
      'BullMQ jobs by queue and state (waiting, active, delayed, failed)',
      ['queue', 'state'],
      async (gauge) => {
        await Promise.all(queues.map((queue) => this.read(queue, gauge)));
      },
    );
  }

  /**
   * Sets the queue's counts when Redis answers: within QUEUE_READ_TIMEOUT_MS for this scrape, or later
   * for the next one (a slow answer still counts). One read per queue at a time, so scrapes during a slow
   * Redis do not pile up commands.
   */
  private async read(queue: Queue, gauge: Gauge<'queue' | 'state'>): Promise<void> {
    let reading = this.reading.get(queue.name);
    if (!reading) {
      reading = queue
        .getJobCounts(...QUEUE_STATES)
        .then((counts) => {
          for (const state of QUEUE_STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0);
        })
        .finally(() => this.reading.delete(queue.name));
      this.reading.set(queue.name, reading);
    }
    await withTimeout(reading, QUEUE_READ_TIMEOUT_MS).catch(() => undefined);
  }
}
