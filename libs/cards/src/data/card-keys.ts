import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cvcFor,
  decryptPan,
  deriveCardKeys,
  encryptPan,
  panHash,
  parseDataKey,
  type CardKeySet,
} from './card-crypto';
import { CardsConfig } from '../cards.config';

/** Used only outside production when CARD_NETWORK_SECRET is unset: it protects nothing. */
export const DEVELOPMENT_NETWORK_SECRET = 'dev-only-card-network-secret-protects-nothing';

/**
 * Development only: a random card-data key made once in .data/cards/data-key and shared by every app of
 * the checkout (card numbers stored by one run must decrypt in the next, and the CVC must not change).
 * Written through a hard link, atomic and exclusive: two apps starting at once keep the same key.
 */
export function devDataKey(root = process.cwd()): Buffer {
  const dir = join(root, '.data', 'cards');
  const file = join(dir, 'data-key');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${process.pid}.tmp`);
  writeFileSync(temp, randomBytes(32).toString('base64'), { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(temp);
  }
  return parseDataKey(readFileSync(file, 'utf8').trim());
}

/**
 * The card module's secrets, resolved once at boot: the keys derived from CARD_DATA_KEY and the card
 * network secrets. Production refuses to start the cards module without both; nothing here is ever
 * logged, and no error quotes a number, a code or a key.
 */
@Injectable()
export class CardKeys {
  private readonly keys: CardKeySet;
  /** Every accepted network signing secret, newest configuration first as given (rotation). */
  readonly networkSecrets: readonly string[];

  /** Production always has both (CardsConfig refuses to boot without them). */
  constructor(config: CardsConfig) {
    this.keys = deriveCardKeys(config.cardDataKey ? parseDataKey(config.cardDataKey) : devDataKey());
    this.networkSecrets = config.cardNetworkSecrets.length
      ? [...config.cardNetworkSecrets]
      : [DEVELOPMENT_NETWORK_SECRET];
  }

  encrypt(pan: string, cardId: string): Buffer {
    return encryptPan(this.keys, pan, cardId);
  }

  decrypt(stored: Buffer, cardId: string): string {
    return decryptPan(this.keys, stored, cardId);
  }

  hash(pan: string): Buffer {
    return panHash(this.keys, pan);
  }

  cvc(pan: string, expiryMonth: number, expiryYear: number): string {
    return cvcFor(this.keys, pan, expiryMonth, expiryYear);
  }
}
