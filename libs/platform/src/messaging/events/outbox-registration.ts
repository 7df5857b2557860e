import type { Provider } from '@nestjs/common';

/** Marks that a module in this process owns an outbox in `schema`; the relay of this process drains it. */
export class OutboxRegistration {
  constructor(readonly schema: string) {}
}

/** Put in a domain module's providers: `providers: [outboxFor('users'), ...]`. */
export function outboxFor(schema: string): Provider {
  return { provide: `OUTBOX_REGISTRATION:${schema}`, useValue: new OutboxRegistration(schema) };
}
