/**
 * Every integration event, by name. Names are `<aggregate>.<past-tense>`. Payloads are versioned by
 * adding optional fields, never by changing or removing one.
 */
export interface EventBase {
  event_id: string;
  /** ISO 8601, UTC. */
  occurred_at: string;
}

export interface UserRegisteredEvent extends EventBase {
  user_id: string;
  email: string;
}

export interface EventMap {
  'user.registered': UserRegisteredEvent;
}

export type EventName = keyof EventMap;
/** What a producer supplies; the outbox adds event_id and occurred_at. */
export type EventInput<N extends EventName> = Omit<EventMap[N], keyof EventBase>;
