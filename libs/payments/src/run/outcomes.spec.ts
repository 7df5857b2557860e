import type { PaymentFailureReason } from '@protobank/contracts';
import { decide, statusAfterFailure } from './outcomes';

const rules = { retryAttempts: 3, retryIntervalMinutes: 60 };
const now = new Date('2026-03-02T09:00:00Z');
const refused = (reason: PaymentFailureReason) => ({ outcome: 'refused' as const, reason });

describe('payment outcomes', () => {
  it('records a posting as paid, replayed or not', () => {
    const posted = {
      outcome: 'posted',
      transaction_id: 't1',
      created_at: now.toISOString(),
      replayed: true,
    } as const;
    expect(decide(posted, 2, now, rules, null)).toEqual({ kind: 'paid', transactionId: 't1' });
  });

  it('retries insufficient funds PAYMENT_RETRY_ATTEMPTS times, an interval apart, then fails the due date', () => {
    for (const attempts of [0, 1, 2]) {
      expect(decide(refused('insufficient_funds'), attempts, now, rules, null)).toEqual({
        kind: 'retry',
        reason: 'insufficient_funds',
        at: new Date('2026-03-02T10:00:00Z'),
      });
    }
    expect(decide(refused('insufficient_funds'), 3, now, rules, null)).toEqual({
      kind: 'failed',
      reason: 'insufficient_funds',
      stopsOrder: false,
    });
    expect(decide(refused('insufficient_funds'), 0, now, { ...rules, retryAttempts: 0 }, null)).toMatchObject(
      {
        kind: 'failed',
      },
    );
  });

  it('fails a frozen account at once, keeping the order; a closed or missing account ends the order', () => {
    expect(decide(refused('account_frozen'), 0, now, rules, null)).toEqual({
      kind: 'failed',
      reason: 'account_frozen',
      stopsOrder: false,
    });
    expect(decide(refused('currency_mismatch'), 0, now, rules, null)).toMatchObject({ stopsOrder: false });
    for (const reason of [
      'account_closed',
      'account_not_found',
      'payee_account_closed',
      'payee_account_not_found',
      'currency_not_supported',
    ] as const) {
      expect(decide(refused(reason), 0, now, rules, null)).toEqual({
        kind: 'failed',
        reason,
        stopsOrder: true,
      });
    }
  });

  it('fails a date whose key an earlier claim voided, for the reason it wrote before voiding', () => {
    const voided = { outcome: 'voided' } as const;
    expect(decide(voided, 0, now, rules, 'insufficient_funds')).toEqual({
      kind: 'failed',
      reason: 'insufficient_funds',
      stopsOrder: false,
    });
    expect(decide(voided, 3, now, rules, 'payee_account_closed')).toEqual({
      kind: 'failed',
      reason: 'payee_account_closed',
      stopsOrder: true,
    });
    expect(() => decide(voided, 0, now, rules, null)).toThrow('no failure decided');
  });

  it('suspends a standing order at the failure limit, and cancels it when an account is gone', () => {
    expect(statusAfterFailure(1, false, 3)).toBe('active');
    expect(statusAfterFailure(2, false, 3)).toBe('active');
    expect(statusAfterFailure(3, false, 3)).toBe('suspended');
    expect(statusAfterFailure(1, true, 3)).toBe('cancelled');
  });
});
