import type { PaymentPosting } from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { assertPaymentShape, paymentFingerprint, paymentResult } from './payment-outcomes';

const payment: PaymentPosting = {
  key: 'order-1:2026-03-31',
  kind: 'standing_order',
  owner_id: '00000000-0000-4000-8000-000000000001',
  from_account_id: '00000000-0000-4000-8000-000000000002',
  to_account_id: null,
  amount: 2500,
  currency: 'GBP',
  reference: 'Rent',
  payee_name: 'Landlord Ltd',
};

const at = new Date('2026-03-31T08:00:00.123Z');
const outcome = (o: string, extra: Partial<Parameters<typeof paymentResult>[0]> = {}) =>
  paymentResult({ outcome: o, httpStatus: 0, replayed: false, entryId: null, createdAt: null, ...extra });

describe('paymentResult', () => {
  it('answers a posting, fresh or replayed, with its entry and time', () => {
    const posted = { httpStatus: 201, entryId: 'e1', createdAt: at };
    expect(outcome('posted', posted)).toEqual({
      outcome: 'posted',
      transaction_id: 'e1',
      created_at: '2026-03-31T08:00:00.123Z',
      replayed: false,
    });
    expect(outcome('posted', { ...posted, replayed: true })).toMatchObject({ replayed: true });
  });

  it.each([
    ['insufficient_funds', 'insufficient_funds'],
    ['account_frozen', 'account_frozen'],
    ['account_closed', 'account_closed'],
    ['payee_account_closed', 'payee_account_closed'],
    ['debit_not_found', 'account_not_found'],
    ['credit_not_found', 'payee_account_not_found'],
    ['currency_mismatch', 'currency_mismatch'],
  ])('answers the refusal %s as %s', (code, reason) => {
    expect(outcome(code)).toEqual({ outcome: 'refused', reason });
  });

  it('answers a key voided before as voided: the date was decided failed, and nothing will post', () => {
    expect(outcome('voided')).toEqual({ outcome: 'voided' });
  });

  it.each([
    ['idempotency_key_reused', 422],
    ['same_account', 422],
    ['own_account', 403],
  ])('throws %s: the payments module never asks for it rightly', (code, status) => {
    const err = (() => {
      try {
        return outcome(code, { httpStatus: status });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status, code });
  });

  it('throws on an outcome it does not know, and on a posting without its entry', () => {
    expect(() => outcome('constructor')).toThrow(AppError);
    expect(() => outcome('posted', { createdAt: at })).toThrow('without an entry');
  });
});

describe('paymentFingerprint', () => {
  it('changes with where the money goes and how much, not with the free text', () => {
    const base = paymentFingerprint(payment);
    expect(paymentFingerprint({ ...payment })).toBe(base);
    expect(paymentFingerprint({ ...payment, reference: 'Rent (March)', payee_name: 'Landlord' })).toBe(base);
    for (const change of [
      { amount: 2501 },
      { currency: 'EUR' as const },
      { kind: 'scheduled_payment' as const },
      { from_account_id: '00000000-0000-4000-8000-000000000003' },
      { to_account_id: '00000000-0000-4000-8000-000000000004' },
    ]) {
      expect(paymentFingerprint({ ...payment, ...change })).not.toBe(base);
    }
  });

  it('treats a missing payee account as external, like null', () => {
    const { to_account_id: _omitted, ...rest } = payment;
    expect(paymentFingerprint(rest as PaymentPosting)).toBe(paymentFingerprint(payment));
  });
});

describe('assertPaymentShape', () => {
  it('accepts a payment and refuses a bad kind, amount or key as validation_failed', () => {
    expect(() => assertPaymentShape(payment)).not.toThrow();
    for (const bad of [
      { kind: 'transfer' },
      { amount: 0 },
      { amount: -5 },
      { amount: 1.5 },
      { amount: Number.MAX_SAFE_INTEGER + 1 },
      { key: '' },
    ]) {
      expect(() => assertPaymentShape({ ...payment, ...bad } as PaymentPosting)).toThrow(
        expect.objectContaining({ status: 400, code: 'validation_failed' }),
      );
    }
  });
});
