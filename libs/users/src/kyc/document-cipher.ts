import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { normaliseDocumentNumber } from './document-number';
import { UsersConfig } from '../users.config';

/**
 * AES-256-GCM for identity-document numbers. Each value gets a fresh 96-bit IV; the user id is bound in
 * as associated data, so a ciphertext copied onto another user's row does not decrypt. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url), the version leaving room for key rotation.
 *
 * Equal numbers are found by a keyed hash instead (ciphertexts differ by their IV): HMAC-SHA-256 of the
 * normalised number under a key derived from KYC_ENCRYPTION_KEY by HKDF-SHA-256 with its own label, so
 * the lookup key is independent of the encryption key and needs no secret of its own. Without the key, a
 * hash reveals nothing and cannot be tested against guessed numbers. Rotating KYC_ENCRYPTION_KEY changes
 * every hash: set them to NULL and the users module computes them again at start-up.
 */
const LOOKUP_KEY_LABEL = 'protobank kyc document-number lookup v1';

/** Used only outside production when KYC_ENCRYPTION_KEY is unset: it protects nothing. */
export const DEVELOPMENT_KEY = Buffer.from('protobank-development-kyc-key!!!').toString('base64');

@Injectable()
export class DocumentCipher {
  private readonly key: Buffer;
  private readonly lookupKey: Buffer;

  /** UsersConfig has checked the key: 32 bytes (base64), and set in production. */
  constructor(config: UsersConfig) {
    this.key = Buffer.from(config.kycEncryptionKey ?? DEVELOPMENT_KEY, 'base64');
    this.lookupKey = Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), LOOKUP_KEY_LABEL, 32));
  }

  /** The lookup hash of a normalised document number (see normaliseDocumentNumber). */
  lookupHash(normalised: string): Buffer {
    return createHmac('sha256', this.lookupKey).update(normalised, 'utf8').digest();
  }

  /** The lookup hash of a stored (encrypted) number; throws when it does not decrypt. */
  hashOnFile(stored: string, userId: string): Buffer {
    return this.lookupHash(normaliseDocumentNumber(this.decrypt(stored, userId)));
  }

  encrypt(plain: string, userId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(userId));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(stored: string, userId: string): string {
    const [version, iv, tag, data] = stored.split('.');
    // The message never quotes the stored value: errors are logged.
    if (version !== 'v1') throw new Error('unknown document cipher version');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(userId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}

/** Only the last three characters are ever shown. */
export const maskDocumentNumber = (last3: string) => `******${last3}`;
