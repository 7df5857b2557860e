import { AppError, todayIn } from '@protobank/platform';
import { ageOn, assertAdultBirthDate, assertBirthDate } from './kyc.service';

const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? [err.status, err.details[0]?.field, err.details[0]?.message] : err;
  }
  return 'no error';
};

describe('ageOn', () => {
  it('turns a year older on the birthday, a bank date', () => {
    expect(ageOn('2008-07-15', '2026-07-14')).toBe(17);
    expect(ageOn('2008-07-15', '2026-07-15')).toBe(18);
    // 00:30 in London on the 18th birthday (British Summer Time) is still the 14th in UTC: the bank's
    // date decides, so the applicant is 18 from the bank's midnight.
    const halfPastMidnight = new Date('2026-07-14T23:30:00Z');
    expect(ageOn('2008-07-15', todayIn('Europe/London', halfPastMidnight))).toBe(18);
    expect(ageOn('2008-07-15', todayIn('UTC', halfPastMidnight))).toBe(17);
  });

  it('makes someone born on 29 February a year older on 1 March in other years', () => {
    expect(ageOn('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageOn('2008-02-29', '2026-03-01')).toBe(18);
    expect(ageOn('2008-02-29', '2028-02-29')).toBe(20);
  });

  it('has no age for a date that does not exist', () => {
    expect(ageOn('2008-02-30', '2026-07-15')).toBeUndefined();
    expect(ageOn('15/07/2008', '2026-07-15')).toBeUndefined();
  });
});

describe('assertBirthDate', () => {
  it('refuses a date that does not exist, or one after today, naming date_of_birth', () => {
    expect(fieldOf(() => assertBirthDate('2008-02-30', '2026-07-15'))).toEqual([
      400,
      'date_of_birth',
      'date_of_birth is not a real date',
    ]);
    expect(fieldOf(() => assertBirthDate('2090-01-01', '2026-07-15'))).toEqual([
      400,
      'date_of_birth',
      'date_of_birth must not be in the future',
    ]);
    expect(fieldOf(() => assertBirthDate('2026-07-15', '2026-07-15'))).toBe('no error');
  });
});

describe('assertAdultBirthDate', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err instanceof AppError ? [err.status, err.code, err.details[0]?.field] : err;
    }
    return 'no error';
  };

  it('takes 18 to 130 years, counted in whole years to the bank date', () => {
    expect(code(() => assertAdultBirthDate('2008-07-15', '2026-07-15'))).toBe('no error');
    expect(code(() => assertAdultBirthDate('1896-07-15', '2026-07-15'))).toBe('no error');
  });

  it('refuses under 18 with 422 underage, naming date_of_birth', () => {
    expect(code(() => assertAdultBirthDate('2008-07-15', '2026-07-14'))).toEqual([
      422,
      'underage',
      'date_of_birth',
    ]);
    expect(code(() => assertAdultBirthDate('2026-07-15', '2026-07-15'))).toEqual([
      422,
      'underage',
      'date_of_birth',
    ]);
  });

  it('refuses more than 130 years, a date that does not exist or one after today with 400, naming date_of_birth', () => {
    for (const dob of ['1895-07-15', '0001-01-01', '2008-02-30', '2090-01-01']) {
      expect([dob, code(() => assertAdultBirthDate(dob, '2026-07-16'))]).toEqual([
        dob,
        [400, 'validation_failed', 'date_of_birth'],
      ]);
    }
  });
});
