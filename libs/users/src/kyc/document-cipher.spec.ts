import { randomUUID } from 'node:crypto';
import type { UsersConfig } from '../users.config';
import { DocumentCipher } from './document-cipher';

describe('DocumentCipher', () => {
  const cipher = new DocumentCipher({ kycEncryptionKey: undefined } as UsersConfig);
  const userId = randomUUID();

  it('hashes a stored number as its normalised spelling', () => {
    const stored = cipher.encrypt('p 502-135 326', userId);
    expect(cipher.hashOnFile(stored, userId).equals(cipher.lookupHash('P502135326'))).toBe(true);
  });

  it('refuses a number stored for another user, or damaged, without quoting it', () => {
    const foreign = cipher.encrypt('P502135326', randomUUID());
    expect(() => cipher.hashOnFile(foreign, userId)).toThrow();
    for (const damaged of ['v9SECRETLOOKING.AAAA.BBBB.CCCC', 'SECRETLOOKINGNODOTS', foreign.slice(0, -4)]) {
      let message = '';
      try {
        cipher.hashOnFile(damaged, userId);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('SECRETLOOKING');
      expect(message).not.toContain(foreign.slice(0, 12));
    }
  });
});
