import { type ConfigSchema, type ConfigValues, configProvider } from '@protobank/platform';

/** The variables the transactions module reads, with their defaults and meaning (README's configuration table). */
export const TRANSACTIONS_VARIABLES = {
  LEDGER_VERIFY_INTERVAL_MINUTES: {
    kind: 'int',
    min: 0,
    max: 10080,
    default: '60',
    doc: "Minutes between the transactions app's ledger verifications (a BullMQ job scheduler: each run taken by one instance; also once at every boot), reported as ledger_verification_* metrics; 0 turns them off.",
  },
  LEDGER_BATCH_MAX_ITEMS: {
    kind: 'int',
    min: 1,
    max: 5000,
    default: '256',
    doc: 'Most postings one ledger batch carries (one transaction, one commit); postings waiting beyond it go in the next batch.',
  },
  LEDGER_BATCHES_IN_FLIGHT: {
    kind: 'int',
    min: 1,
    max: 32,
    default: '2',
    doc: 'Ledger batches one process has running at once (each on its own database connection); postings arriving while all are running queue for the next.',
  },
  LEDGER_QUEUE_TIMEOUT_MS: {
    kind: 'int',
    min: 10,
    max: 600000,
    default: '5000',
    doc: 'Longest a posting waits for a place in a ledger batch; then it is refused unposted (503 ledger_busy, safe to retry).',
  },
  CARD_LATE_CLEARING_DAYS: {
    kind: 'int',
    min: 1,
    max: 180,
    default: '30',
    doc: 'Days after a hold expired unclaimed during which its clearing may still come (merchants such as hotels present late): until then its account cannot be closed (409 holds_pending), so the late clearing still has an account to post to.',
  },
} as const satisfies ConfigSchema;

/**
 * The transactions module's (the ledger's) configuration: its verification schedule, its posting batches,
 * and how long it keeps a card's account open for a late clearing. Read once when an app hosting the
 * module boots (configProvider).
 */
export class TransactionsConfig {
  static readonly variables = TRANSACTIONS_VARIABLES;

  readonly ledgerVerifyIntervalMinutes: number;
  readonly ledgerBatchMaxItems: number;
  readonly ledgerBatchesInFlight: number;
  readonly ledgerQueueTimeoutMs: number;
  /** Days after an authorisation a clearing may still come once its hold expired; the account stays open. */
  readonly cardLateClearingDays: number;

  constructor(v: ConfigValues<typeof TRANSACTIONS_VARIABLES>) {
    this.ledgerVerifyIntervalMinutes = Number(v.LEDGER_VERIFY_INTERVAL_MINUTES);
    this.ledgerBatchMaxItems = Number(v.LEDGER_BATCH_MAX_ITEMS);
    this.ledgerBatchesInFlight = Number(v.LEDGER_BATCHES_IN_FLIGHT);
    this.ledgerQueueTimeoutMs = Number(v.LEDGER_QUEUE_TIMEOUT_MS);
    this.cardLateClearingDays = Number(v.CARD_LATE_CLEARING_DAYS);
  }
}

/** Provides TransactionsConfig to the module's classes. */
export const transactionsConfigProvider = configProvider(TransactionsConfig);
