import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { EventInput, EventMap, EventName } from '@protobank/contracts';
import { requestContext } from '../../context/request-context';
import { assertSchemaName } from '../../database/schema-name';

export const OUTBOX_CHANNEL = 'protobank_outbox';

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
    assertSchemaName(schema);
    const event = { event_id: randomUUID(), occurred_at: new Date().toISOString(), ...input } as EventMap[N];
    const ctx = requestContext.current();
    const headers = { request_id: ctx?.requestId, caller: ctx?.caller };
    await manager.query(
      `INSERT INTO "${schema}".outbox (id, name, payload, headers) VALUES ($1, $2, $3, $4)`,
      [event.event_id, name, JSON.stringify(event), JSON.stringify(headers)],
    );
    // A writer of many events (a payments sweep) skips the NOTIFY, which serialises committing
    // transactions on one lock, and kicks its process's relay after the commit instead.
    if (options.notify !== false) await manager.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, schema]);
    return event;
  }
}
