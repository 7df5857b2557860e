import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { DataSource, type EntityManager } from 'typeorm';
import { slots } from '../../concurrency/slots';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import { assertSchemaName } from '../../database/schema-name';
import { InboxRegistration } from './outbox-registration';

/**
 * Makes a consumer idempotent: the event id is recorded in the consuming module's inbox in the same
 * transaction as the effect, so a redelivered event finds its id and changes nothing, and a failed
 * effect leaves no id behind and is retried.
 *
 * Consumers' transactions take at most half the database pool at once, whatever runs them (every event
 * name's handlers, batches in flight, one-event handlers 64 at a time over RabbitMQ): the rest wait their
 * turn here, not in the pool's queue ahead of HTTP requests. One that waits INBOX_SLOT_WAIT_MS fails and
 * its event is delivered again later. An effect must not call once() or onceEach() itself (with one slot
 * it would wait for ever on its own).
 */
/** How long a consumer's transaction waits for its turn before it fails (and its event is redelivered). */
export const INBOX_SLOT_WAIT_MS = 30_000;

@Injectable()
export class InboxService {
  private registered?: Set<string>;
  private readonly inSlot: <T>(task: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly discovery: DiscoveryService,
    config: AppConfig,
  ) {
    this.inSlot = slots(
      Math.max(1, Math.floor(config.databasePoolSize / 2)),
      INBOX_SLOT_WAIT_MS,
      () => new Error(`an event's transaction waited ${INBOX_SLOT_WAIT_MS} ms for its turn`),
    );
  }

  /** The inbox schemas of this process's modules (inboxFor): the ones retention prunes. */
  schemas(): string[] {
    this.registered ??= new Set(
      this.discovery
        .getProviders()
        .map((w) => w.instance as unknown)
        .filter((i): i is InboxRegistration => i instanceof InboxRegistration)
        .map((r) => r.schema),
    );
    return [...this.registered];
  }

  private assertRegistered(schema: string): void {
    assertSchemaName(schema);
    if (!this.schemas().includes(schema)) {
      throw new Error(`the inbox of ${schema} is not registered: add inboxFor('${schema}') to its module`);
    }
  }

  /** Whether the event was already handled: lets a consumer skip costly work (a contract call) before once(). */
  async seen(schema: string, consumer: string, eventId: string): Promise<boolean> {
    this.assertRegistered(schema);
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM "${schema}".inbox WHERE event_id = $1 AND consumer = $2`,
      [eventId, consumer],
    )) as unknown[];
    if (rows.length) this.metrics.inboxEvents.inc({ consumer, outcome: 'duplicate' });
    return rows.length > 0;
  }

  /** Runs `effect` once per (event, consumer); returns false when it had already run. */
  async once(
    schema: string,
    consumer: string,
    eventId: string,
    effect: (manager: EntityManager) => Promise<void>,
  ): Promise<boolean> {
    this.assertRegistered(schema);
    const applied = await this.inSlot(() =>
      this.dataSource.transaction(async (manager) => {
        const inserted = (await manager.query(
          `INSERT INTO "${schema}".inbox (event_id, consumer) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
          [eventId, consumer],
        )) as unknown[];
        if (inserted.length === 0) return false;
        await effect(manager);
        return true;
      }),
    );
    this.metrics.inboxEvents.inc({ consumer, outcome: applied ? 'applied' : 'duplicate' });
    return applied;
  }

  /** The events of `events` not handled yet (one query): lets a batch consumer skip costly work for the rest. */
  async unseen<E extends { event_id: string }>(schema: string, consumer: string, events: E[]): Promise<E[]> {
    this.assertRegistered(schema);
    if (events.length === 0) return [];
    const rows = (await this.dataSource.query(
      `SELECT event_id FROM "${schema}".inbox WHERE event_id = ANY($1::uuid[]) AND consumer = $2`,
      [[...new Set(events.map((e) => e.event_id))], consumer],
    )) as { event_id: string }[];
    const seen = new Set(rows.map((r) => r.event_id));
    if (seen.size) this.metrics.inboxEvents.inc({ consumer, outcome: 'duplicate' }, seen.size);
    return events.filter((e) => !seen.has(e.event_id));
  }

  /**
   * once() for a batch, in ONE transaction: every event id goes into the inbox in one statement, and
   * `effect` gets only the events not handled before (an id twice in the batch counts once, its first
   * copy). A failure rolls back the effect and every inbox record with it. Ids are inserted in id order,
   * so two batches sharing ids wait on each other instead of deadlocking. Returns the fresh events.
   */
  async onceEach<E extends { event_id: string }>(
    schema: string,
    consumer: string,
    events: E[],
    effect: (manager: EntityManager, fresh: E[]) => Promise<void>,
  ): Promise<E[]> {
    this.assertRegistered(schema);
    if (events.length === 0) return [];
    const ids = [...new Set(events.map((e) => e.event_id))].sort();
    const fresh = await this.inSlot(() =>
      this.dataSource.transaction(async (manager) => {
        const inserted = (await manager.query(
          `INSERT INTO "${schema}".inbox (event_id, consumer)
         SELECT id, $2 FROM unnest($1::uuid[]) AS id ORDER BY id
         ON CONFLICT DO NOTHING RETURNING event_id`,
          [ids, consumer],
        )) as { event_id: string }[];
        const claimed = new Set(inserted.map((r) => r.event_id));
        // delete(): a second copy of an id in the batch finds it gone and is left out.
        const firstCopies = events.filter((e) => claimed.delete(e.event_id));
        if (firstCopies.length) await effect(manager, firstCopies);
        return firstCopies;
      }),
    );
    if (fresh.length) this.metrics.inboxEvents.inc({ consumer, outcome: 'applied' }, fresh.length);
    if (events.length > fresh.length)
      this.metrics.inboxEvents.inc({ consumer, outcome: 'duplicate' }, events.length - fresh.length);
    return fresh;
  }
}
