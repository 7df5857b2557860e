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

/**
 * Marks that a module in this process records consumed events in the inbox of `schema`. Retention prunes
 * exactly the inboxes registered here (and those of the outboxes), and InboxService refuses a schema that
 * is not registered, so a consuming module cannot forget it and leave its inbox growing forever.
 */
export class InboxRegistration {
  constructor(readonly schema: string) {
    assertSchemaName(schema);
  }
}

/** Put in a consuming module's providers: `providers: [inboxFor('analytics'), ...]`. */
export function inboxFor(schema: string): Provider {
  return { provide: `INBOX_REGISTRATION:${schema}`, useValue: new InboxRegistration(schema) };
}
