import { type ConfigSchema, type ConfigValues, configProvider, listItems } from '@protobank/platform';

/** The variables the cards module reads, with their defaults and meaning (README's configuration table). */
export const CARDS_VARIABLES = {
  CARD_BIN: {
    kind: 'string',
    default: '535522',
    pattern: /^[245]\d{5,7}$/,
    doc: 'The issuer BIN (6 to 8 digits) every card number starts with: 4 makes Visa cards, 2 or 5 Mastercard.',
  },
  CARD_DATA_KEY: {
    kind: 'string',
    secret: true,
    pattern: /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/,
    doc: 'The card-data key (32 bytes, hex or base64; use CARD_DATA_KEY_FILE): HKDF-SHA-256 derives from it the AES-256-GCM key of stored card numbers, the key of their lookup hashes and the CVC key. Needed by the app hosting cards; it cannot be rotated yet (stored numbers and every CVC depend on it). Development: a random key made once in .data/cards/data-key; production refuses to start cards without it.',
  },
  CARD_NETWORK_SECRET: {
    kind: 'string',
    secret: true,
    pattern: /^[\x21-\x2b\x2d-\x7e]{32,}(?:\s*,\s*[\x21-\x2b\x2d-\x7e]{32,})*$/,
    doc: 'HMAC-SHA-256 secret(s) of the card network API signatures (32 or more visible ASCII characters; use CARD_NETWORK_SECRET_FILE). Several, comma-separated, are all accepted: add the new one, move the network over, then remove the old. Development: a fixed development secret; production refuses to start cards without it.',
  },
  CARD_HOLD_EXPIRY_DAYS: {
    kind: 'int',
    min: 1,
    max: 31,
    default: '7',
    doc: 'Days an authorisation hold lasts uncleared before it expires and its money is available again.',
  },
  CARD_HOLD_EXPIRY_SWEEP_SECONDS: {
    kind: 'int',
    min: 1,
    max: 3600,
    default: '60',
    doc: 'How often the cards module releases the holds past their expiry (a BullMQ job scheduler).',
  },
  CARD_REVEAL_RATE_LIMIT_PER_HOUR: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '5',
    doc: 'Card-detail reveals (POST /cards/{id}/reveal, each checking the password) one customer may attempt per hour, then 429.',
  },
  CARD_ISSUES_PER_DAY: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: '20',
    doc: 'Cards one customer may be issued in any 24 hours, replacements and cancelled ones included (the cap on cards held does not stop a loop of issuing and cancelling, and a physical card is made and posted): past it, 429 rate_limited, with Retry-After the time until one more may be.',
  },
} as const satisfies ConfigSchema;

/** The cards module's configuration. Read once when an app hosting the module boots (configProvider). */
export class CardsConfig {
  static readonly variables = CARDS_VARIABLES;

  readonly cardBin: string;
  /** 32 bytes, hex or base64; undefined: the development key (CardKeys), which production refuses. */
  readonly cardDataKey: string | undefined;
  /** Every accepted card network secret (rotation); empty: the development secret (refused in production). */
  readonly cardNetworkSecrets: string[];
  readonly cardHoldExpiryDays: number;
  readonly cardHoldExpirySweepSeconds: number;
  readonly cardRevealRateLimitPerHour: number;
  readonly cardIssuesPerDay: number;

  constructor(v: ConfigValues<typeof CARDS_VARIABLES>) {
    this.cardBin = v.CARD_BIN!;
    this.cardDataKey = v.CARD_DATA_KEY;
    this.cardNetworkSecrets = listItems(v.CARD_NETWORK_SECRET ?? '');
    this.cardHoldExpiryDays = Number(v.CARD_HOLD_EXPIRY_DAYS);
    this.cardHoldExpirySweepSeconds = Number(v.CARD_HOLD_EXPIRY_SWEEP_SECONDS);
    this.cardRevealRateLimitPerHour = Number(v.CARD_REVEAL_RATE_LIMIT_PER_HOUR);
    this.cardIssuesPerDay = Number(v.CARD_ISSUES_PER_DAY);
  }

  /** Production runs on its own keys: the development ones protect nothing. */
  static problems(v: ConfigValues<typeof CARDS_VARIABLES>, production: boolean): string[] {
    if (!production) return [];
    return [
      ...(v.CARD_DATA_KEY === undefined
        ? ['CARD_DATA_KEY (or CARD_DATA_KEY_FILE) must be set in production']
        : []),
      ...(listItems(v.CARD_NETWORK_SECRET ?? '').length === 0
        ? ['CARD_NETWORK_SECRET (or CARD_NETWORK_SECRET_FILE) must be set in production']
        : []),
    ];
  }
}

/** Provides CardsConfig to the module's classes. */
export const cardsConfigProvider = configProvider(CardsConfig);
