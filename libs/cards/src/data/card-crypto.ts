import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The cryptography of card data, under three keys derived from CARD_DATA_KEY by HKDF-SHA-256 with their
 * own labels, so none can stand in for another and one master secret is all there is to keep:
 * - the PAN encryption key (AES-256-GCM);
 * - the PAN lookup key (HMAC-SHA-256): the card network sends a clear number, which is found by its keyed
 *   hash, never by decrypting every row or by a query on the number;
 * - the CVC key: the CVC is an HMAC of the PAN and expiry, computed when needed and never stored, as
 *   issuers derive CVV2 from the card data and their own key.
 * Changing the labels changes every hash and CVC: they are versioned (v1) for that reason.
 */
const LABELS = {
  encryption: 'protobank card pan-encryption v1',
  lookup: 'protobank card pan-lookup v1',
  cvc: 'protobank card cvc v1',
} as const;

export interface CardKeySet {
  encryption: Buffer;
  lookup: Buffer;
  cvc: Buffer;
}

/** The master key as configured: 64 hex digits or base64 of 32 bytes. */
export function parseDataKey(value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  // The message never repeats the value: it may be logged at boot.
  if (key.length !== 32) throw new Error('CARD_DATA_KEY must be 32 bytes, in hex or base64');
  return key;
}

export function deriveCardKeys(master: Buffer): CardKeySet {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), label, 32));
  return { encryption: derive(LABELS.encryption), lookup: derive(LABELS.lookup), cvc: derive(LABELS.cvc) };
}

/** Format byte of a stored PAN: 1 = AES-256-GCM, 12-byte IV, 16-byte tag, then the ciphertext. */
const FORMAT_V1 = 1;

/**
 * The PAN encrypted for storage: one bytea holding format, IV, tag and ciphertext. The card id is bound in
 * as associated data, so a ciphertext copied onto another card's row does not decrypt.
 */
export function encryptPan(keys: CardKeySet, pan: string, cardId: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv);
  cipher.setAAD(Buffer.from(cardId));
  const data = Buffer.concat([cipher.update(pan, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), data]);
}

export function decryptPan(keys: CardKeySet, stored: Buffer, cardId: string): string {
  // The messages never quote the stored value: errors are logged.
  if (stored.length < 30 || stored[0] !== FORMAT_V1) throw new Error('unknown card data format');
  const decipher = createDecipheriv('aes-256-gcm', keys.encryption, stored.subarray(1, 13));
  decipher.setAAD(Buffer.from(cardId));
  decipher.setAuthTag(stored.subarray(13, 29));
  return Buffer.concat([decipher.update(stored.subarray(29)), decipher.final()]).toString('utf8');
}

/** The keyed lookup hash of a PAN (what cards.cards.pan_hash holds). */
export function panHash(keys: CardKeySet, pan: string): Buffer {
  return createHmac('sha256', keys.lookup).update(pan, 'utf8').digest();
}

/**
 * The card's 3-digit CVC: HMAC-SHA-256 of PAN and expiry under the CVC key, its first 32 bits reduced
 * mod 1000 (a bias below 1 in 4 million). Stable for one card; a reissue with a new expiry gets another.
 */
export function cvcFor(keys: CardKeySet, pan: string, expiryMonth: number, expiryYear: number): string {
  const mac = createHmac('sha256', keys.cvc)
    .update(`${pan}|${String(expiryMonth).padStart(2, '0')}|${expiryYear}`, 'utf8')
    .digest();
  return String(mac.readUInt32BE(0) % 1000).padStart(3, '0');
}
