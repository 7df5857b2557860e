import { randomBytes, randomUUID } from 'node:crypto';
import { cvcFor, decryptPan, deriveCardKeys, encryptPan, panHash, parseDataKey } from './card-crypto';

describe('card data cryptography', () => {
  const master = randomBytes(32);
  const keys = deriveCardKeys(master);
  const pan = '5355221234567897';

  it('reads a 32-byte key in hex or base64, and refuses any other length without quoting it', () => {
    expect(parseDataKey(master.toString('hex'))).toEqual(master);
    expect(parseDataKey(master.toString('base64'))).toEqual(master);
    const short = randomBytes(16).toString('base64');
    expect(() => parseDataKey(short)).toThrow(/32 bytes/);
    try {
      parseDataKey(short);
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('derives three distinct keys, none of them the master', () => {
    const all = [master, keys.encryption, keys.lookup, keys.cvc].map((k) => k.toString('hex'));
    expect(new Set(all).size).toBe(4);
    expect(deriveCardKeys(master)).toEqual(keys);
  });

  it('round-trips a PAN through encryption, with a fresh IV each time and no clear digits stored', () => {
    const id = randomUUID();
    const a = encryptPan(keys, pan, id);
    const b = encryptPan(keys, pan, id);
    expect(a.equals(b)).toBe(false);
    expect(a.toString('latin1')).not.toContain(pan);
    expect(decryptPan(keys, a, id)).toBe(pan);
    expect(decryptPan(keys, b, id)).toBe(pan);
  });

  it('refuses a ciphertext moved to another card, tampered with, or under another key', () => {
    const id = randomUUID();
    const stored = encryptPan(keys, pan, id);
    expect(() => decryptPan(keys, stored, randomUUID())).toThrow();
    const tampered = Buffer.from(stored);
    tampered[tampered.length - 1] ^= 1;
    expect(() => decryptPan(keys, tampered, id)).toThrow();
    expect(() => decryptPan(deriveCardKeys(randomBytes(32)), stored, id)).toThrow();
    expect(() => decryptPan(keys, Buffer.from([9, ...stored.subarray(1)]), id)).toThrow(/format/);
  });

  it('hashes a PAN the same way every time, differently per number and per key', () => {
    expect(panHash(keys, pan).equals(panHash(keys, pan))).toBe(true);
    expect(panHash(keys, pan)).toHaveLength(32);
    expect(panHash(keys, pan).equals(panHash(keys, '5355221234567889'))).toBe(false);
    expect(panHash(keys, pan).equals(panHash(deriveCardKeys(randomBytes(32)), pan))).toBe(false);
  });

  it('derives a stable 3-digit CVC that changes with the expiry, the number and the key', () => {
    const cvc = cvcFor(keys, pan, 3, 2029);
    expect(cvc).toMatch(/^\d{3}$/);
    expect(cvcFor(keys, pan, 3, 2029)).toBe(cvc);
    // Over many expiries the code is spread out: a reissue gets a different one with probability 0.999.
    const others = new Set<string>();
    for (let year = 2030; year < 2130; year++) others.add(cvcFor(keys, pan, 3, year));
    expect(others.size).toBeGreaterThan(80);
    const numbers = new Set<string>();
    for (let i = 0; i < 100; i++)
      numbers.add(cvcFor(keys, `53552200000${String(i).padStart(5, '0')}`, 3, 2029));
    expect(numbers.size).toBeGreaterThan(80);
    const elsewhere = new Set<string>();
    for (let i = 0; i < 20; i++) elsewhere.add(cvcFor(deriveCardKeys(randomBytes(32)), pan, 3, 2029));
    expect(elsewhere.size).toBeGreaterThan(10);
  });
});
