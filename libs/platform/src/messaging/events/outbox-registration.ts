import type { Provider } from '@nestjs/common';
import { assertSchemaName } from '../../database/schema-name';

/** Marks that a module in this process owns an outbox in `schema`; the relay of this process drains it. */
export class OutboxRegistration {
  constructor(readonly schema: string) {
    assertSchemaName(schema); // it is interpolated into the relay's SQL
  }
}

/** Put in a domain module's providers: `providers: [outboxFor('users'), ...]`. */
export function outboxFor(schema: string): Provider {
  return { provide: `OUTBOX_REGISTRATION:${schema}`, useValue: new OutboxRegistration(schema) };
}
