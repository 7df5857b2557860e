import { AppError } from '../errors/app-error';
import { assertNoResetHold } from './reset-hold';

const caller = { user_id: 'u1', role: 'customer' };
const refusal = (fn: () => void): AppError => {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('not refused');
};

describe('assertNoResetHold', () => {
  it('lets a caller without a hold, or whose hold has passed, through', () => {
    expect(() => assertNoResetHold(caller, 'adding a payee')).not.toThrow();
    const passed = new Date(Date.now() - 1000).toISOString();
    expect(() => assertNoResetHold({ ...caller, reset_hold_until: passed }, 'adding a payee')).not.toThrow();
  });

  it('refuses 403 recently_reset until the hold ends, naming the field and logged as a security event', () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const err = refusal(() =>
      assertNoResetHold({ ...caller, reset_hold_until: until }, 'paying others', 'to_account_id'),
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err.toBody()).toEqual({
      status: 403,
      code: 'recently_reset',
      message: `Your password was reset by e-mail: for your safety, paying others waits until ${until}`,
      details: [{ field: 'to_account_id', message: `held until ${until} after the password reset` }],
    });
    expect(err.securityEvent).toEqual({
      security_event: 'reset_hold_refused',
      user_id: 'u1',
      held: 'paying others',
    });
    expect(
      refusal(() => assertNoResetHold({ ...caller, reset_hold_until: until }, 'adding a payee')).details,
    ).toEqual([]);
  });
});
