import type { MessageProperties } from 'amqplib';
import { DEADLINE_HEADER, pastDeadline } from './amqp-headers';

const withHeaders = (headers?: Record<string, unknown>) => ({ headers }) as unknown as MessageProperties;

describe('pastDeadline', () => {
  it('says how long ago a contract call’s deadline passed, and nothing while it has not', () => {
    const now = 1_000_000;
    expect(pastDeadline(withHeaders({ [DEADLINE_HEADER]: String(now - 250) }), now)).toBe(250);
    expect(pastDeadline(withHeaders({ [DEADLINE_HEADER]: String(now) }), now)).toBeUndefined();
    expect(pastDeadline(withHeaders({ [DEADLINE_HEADER]: String(now + 1) }), now)).toBeUndefined();
  });

  it('takes a call without a usable deadline as in time (a caller of the release before sends none)', () => {
    for (const headers of [undefined, {}, { [DEADLINE_HEADER]: 'soon' }, { [DEADLINE_HEADER]: '' }])
      expect(pastDeadline(withHeaders(headers), 1_000_000)).toBeUndefined();
  });
});
