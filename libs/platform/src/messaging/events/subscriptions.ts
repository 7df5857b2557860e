import type { EVENT_SUBSCRIPTIONS } from '@protobank/contracts';

/** DI token of the event subscription table (contracts' EVENT_SUBSCRIPTIONS; tests may pass their own). */
export const SUBSCRIPTIONS = Symbol('SUBSCRIPTIONS');
export type Subscriptions = typeof EVENT_SUBSCRIPTIONS;
