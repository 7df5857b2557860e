/**
 * Every Postgres advisory-lock key space of the database, in one map so that no two features share one
 * (a shared key would make unrelated work wait on each other). Each is four ASCII letters read as an
 * int32. The two-int form, pg_advisory_xact_lock(space, hashtext(key)), locks one key of a space; a
 * session lock (withSessionLock) takes the space alone, as a bigint, which Postgres keeps apart from the
 * two-int form. Two spaces are taken in SQL (the outbox claim, migration 1763700000024; card calls,
 * libs/transactions/sql/card_calls_v*.sql): listed here too, and advisory-locks.spec.ts checks that the
 * SQL still says the same.
 */
export const ADVISORY_LOCKS = {
  /** Session: one due-payments sweep at a time across payments instances. */
  paymentSweep: 0x7061_7973, // "pays"
  /** Per customer: card issuing (the cap on cards held). */
  cardIssue: 0x6361_7264, // "card"
  /** Per customer: scheduled payment and standing order creations. */
  orderCreation: 0x6f72_6473, // "ords"
  /** Per customer: payee creations (the cap on payees). */
  payeeCreation: 0x7061_7965, // "paye"
  /** Per outbox schema, in SQL: claims of one outbox take turns. */
  outboxClaim: 0x6f75_7462, // "outb"
  /** Per card network id, in SQL: card calls under one network id take turns. */
  cardCalls: 0x636e_6964, // "cnid"
} as const;
