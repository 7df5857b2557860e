import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventInput, EventMap, EventName } from '@protobank/contracts';
import { requestContext } from '../../context/request-context';
import { assertSchemaName } from '../../database/schema-name';
import { timeOrderedId } from '../../database/time-ordered-id';
import { traceHeaders } from '../../tracing/tracing';

export const OUTBOX_CHANNEL = 'protobank_outbox';

/** One event to write: its name and its payload without the envelope (event_id, occurred_at). */
export type OutboxEntry = { [N in EventName]: { name: N; input: EventInput<N> } }[EventName];

/**
 * Writes integration events to the producing module's outbox table, inside the caller's transaction:
 * the event exists if and only if the change committed. The NOTIFY is delivered on commit only, which
 * wakes the relay at once; the relay also polls, so a lost notification costs latency, never the event.
 */
@Injectable()
export class OutboxService {
  async add<N extends EventName>(
    manager: EntityManager,
    schema: string,
    name: N,
    input: EventInput<N>,
    options: { notify?: boolean } = {},
  ): Promise<EventMap[N]> {
    const [event] = await this.addMany(manager, schema, [{ name, input } as OutboxEntry], options);
    return event as EventMap[N];
  }

  /**
   * Writes several events in one statement, with one NOTIFY at most: what a writer of a batch (a payments
   * sweep round) uses. Events of one transaction carry no order among themselves (the relay's order is
   * created_at, the transaction's start, then id).
   */
  async addMany(
    manager: EntityManager,
    schema: string,
    entries: readonly OutboxEntry[],
    options: { notify?: boolean } = {},
  ): Promise<EventMap[EventName][]> {
    assertSchemaName(schema);
    if (entries.length === 0) return [];
    const { events, headers } = envelopes(entries);
    await manager.query(
      `INSERT INTO "${schema}".outbox (id, name, payload, headers)
       SELECT id, name, payload, $4::jsonb FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS t(id, name, payload)`,
      [
        events.map((e) => e.event_id),
        entries.map((e) => e.name),
        events.map((e) => JSON.stringify(e)),
        headers,
      ],
    );
    // A writer of many events (a payments sweep) skips the NOTIFY, which serialises committing
    // transactions on one lock, and kicks its process's relay after the commit instead.
    if (options.notify !== false) await manager.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, schema]);
    return events;
  }

  /**
   * Runs one data-changing `statement` (with RETURNING) and writes `entry` if and only if it returned a
   * row, as one SQL statement: atomic without a transaction, and one round trip instead of four, for a
   * writer on a hot path (a card authorisation). The statement's parameters are $1 to $n. No NOTIFY: the
   * caller kicks its relay. True when the change (and so the event) was written.
   */
  async addIfChanged(
    manager: EntityManager,
    schema: string,
    statement: string,
    params: readonly unknown[],
    entry: OutboxEntry,
  ): Promise<boolean> {
    assertSchemaName(schema);
    const { events, headers } = envelopes([entry]);
    const n = params.length;
    const rows = (await manager.query(
      `WITH change AS (${statement})
       INSERT INTO "${schema}".outbox (id, name, payload, headers)
       SELECT $${n + 1}, $${n + 2}, $${n + 3}::jsonb, $${n + 4}::jsonb FROM (SELECT 1 FROM change LIMIT 1) c
       RETURNING id`,
      [...params, events[0].event_id, entry.name, JSON.stringify(events[0]), headers],
    )) as unknown[];
    return rows.length > 0;
  }
}

/** The events with their envelope (event_id, occurred_at), and the request context's headers. */
function envelopes(entries: readonly OutboxEntry[]) {
  const occurredAt = new Date().toISOString();
  const events = entries.map(
    ({ input }) => ({ event_id: timeOrderedId(), occurred_at: occurredAt, ...input }) as EventMap[EventName],
  );
  return { events, headers: outboxHeaders() };
}

/**
 * An outbox row's `headers` (jsonb, as JSON text) for an event written now: the request's id and caller
 * and (tracing on) the active span's W3C context, so the relay's publish span, however much later it
 * runs, joins the trace of the request that wrote the row. For writers that insert outbox rows in their
 * own SQL (the ledger).
 */
export function outboxHeaders(): string {
  const ctx = requestContext.current();
  return JSON.stringify({ request_id: ctx?.requestId, caller: ctx?.caller, ...traceHeaders() });
}
