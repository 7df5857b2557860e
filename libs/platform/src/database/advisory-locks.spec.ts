import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADVISORY_LOCKS } from './advisory-locks';

const ROOT = join(__dirname, '../../../..');

describe('advisory lock key spaces', () => {
  it('gives every feature a space of its own', () => {
    const values = Object.values(ADVISORY_LOCKS);
    expect(new Set(values).size).toBe(values.length);
  });

  it('names each space by its four letters', () => {
    for (const value of Object.values(ADVISORY_LOCKS)) {
      const letters = Buffer.alloc(4);
      letters.writeInt32BE(value);
      expect(letters.toString('latin1')).toMatch(/^[a-z]{4}$/);
    }
  });

  it('matches the spaces the SQL takes itself (the outbox claim, card calls)', () => {
    const migration = readFileSync(join(ROOT, 'migrations/1763700000024-OutboxClaimOnOnePage.ts'), 'utf8');
    expect(migration).toContain(`OUTBOX_CLAIM_LOCK = 0x${hex(ADVISORY_LOCKS.outboxClaim, '_')};`);
    const sqlDir = join(ROOT, 'libs/transactions/sql');
    const cardCalls = readdirSync(sqlDir).filter((f) => f.startsWith('card_calls_v'));
    expect(cardCalls.length).toBeGreaterThan(0);
    for (const file of cardCalls) {
      expect(readFileSync(join(sqlDir, file), 'utf8')).toContain(
        `pg_advisory_xact_lock(x'${hex(ADVISORY_LOCKS.cardCalls)}'::integer`,
      );
    }
  });
});

/** The value as 8 hex digits, optionally split 4_4 as the code writes it. */
function hex(value: number, separator = ''): string {
  const digits = value.toString(16).padStart(8, '0');
  return `${digits.slice(0, 4)}${separator}${digits.slice(4)}`;
}
