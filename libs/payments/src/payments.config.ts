import { type ConfigSchema, type ConfigValues, configProvider } from '@protobank/platform';

/** The variables the payments module reads, with their defaults and meaning (README's configuration table). */
export const PAYMENTS_VARIABLES = {
  PAYMENT_RETRY_ATTEMPTS: {
    kind: 'int',
    min: 0,
    max: 10,
    default: '3',
    doc: 'Retries of a scheduled payment or standing-order occurrence refused for insufficient funds, PAYMENT_RETRY_INTERVAL_MINUTES apart, before it fails for that date (one refused late in the evening is retried after midnight).',
  },
  PAYMENT_RETRY_INTERVAL_MINUTES: {
    kind: 'int',
    min: 1,
    max: 720,
    default: '60',
    doc: 'Minutes between those retries.',
  },
  STANDING_ORDER_MAX_CONSECUTIVE_FAILURES: {
    kind: 'int',
    min: 1,
    max: 100,
    default: '3',
    doc: 'Failed occurrences in a row after which a standing order is suspended (and its owner told).',
  },
  PAYMENT_ORDERS_PER_DAY: {
    kind: 'int',
    min: 1,
    max: 10000,
    default: '200',
    doc: 'Standing orders, and apart from them scheduled payments, one customer may set up in any 24 hours, cancelled ones included (the caps on open ones do not stop a loop of setting up and cancelling): past it, 429 rate_limited, with Retry-After the time until one more may be.',
  },
} as const satisfies ConfigSchema;

/** The payments module's configuration. Read once when an app hosting the module boots (configProvider). */
export class PaymentsConfig {
  static readonly variables = PAYMENTS_VARIABLES;

  readonly paymentRetryAttempts: number;
  readonly paymentRetryIntervalMinutes: number;
  readonly standingOrderMaxConsecutiveFailures: number;
  readonly paymentOrdersPerDay: number;

  constructor(v: ConfigValues<typeof PAYMENTS_VARIABLES>) {
    this.paymentRetryAttempts = Number(v.PAYMENT_RETRY_ATTEMPTS);
    this.paymentRetryIntervalMinutes = Number(v.PAYMENT_RETRY_INTERVAL_MINUTES);
    this.standingOrderMaxConsecutiveFailures = Number(v.STANDING_ORDER_MAX_CONSECUTIVE_FAILURES);
    this.paymentOrdersPerDay = Number(v.PAYMENT_ORDERS_PER_DAY);
  }
}

/** Provides PaymentsConfig to the module's classes. */
export const paymentsConfigProvider = configProvider(PaymentsConfig);
