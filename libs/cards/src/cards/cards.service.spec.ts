import { AppError } from '@protobank/platform';
import { CardsService } from './cards.service';

describe('CardsService.reveal under load', () => {
  it('gives the attempt back when the password was never checked (503 auth_busy)', async () => {
    const busy = new AppError(503, 'auth_busy', 'Too many password checks under way; try again shortly');
    const calls: string[] = [];
    const dataSource = {
      manager: {
        query: async () => [{ id: 'card-1', owner_id: 'user-1', status: 'active' }],
      },
      query: async () => {
        calls.push('recorded');
        return [];
      },
    };
    const auth = { verifyPassword: async () => Promise.reject(busy) };
    const limiter = {
      hit: async (bucket: string, key: string) => {
        calls.push(`hit ${bucket} ${key}`);
        return { allowed: true, count: 1, retryAfter: 0 };
      },
      release: async (bucket: string, key: string) => {
        calls.push(`release ${bucket} ${key}`);
      },
    };
    const ledger = { getStates: async () => [{ id: 'account-1', owner_id: 'user-1', status: 'active' }] };
    const service = new CardsService(
      dataSource as never,
      ledger as never,
      {} as never,
      auth as never,
      {} as never,
      {} as never,
      limiter as never,
      {} as never,
      {} as never,
      {} as never,
      { cardRevealRateLimitPerHour: 5 } as never,
      {} as never,
      { warn: () => undefined, info: () => undefined } as never,
    );
    const reveal = service.reveal({ user_id: 'user-1', role: 'customer' } as never, 'card-1', 'a password', {
      ip: undefined,
      requestId: undefined,
    });
    await expect(reveal).rejects.toBe(busy);
    // Counted first (parallel guesses cannot all pass), given back since nothing was checked, and not
    // recorded as a reveal attempt.
    expect(calls).toEqual(['hit card-reveal user-1', 'release card-reveal user-1']);
  });
});

describe('CardsService: the account read again after a card is issued', () => {
  const build = (getStates: () => Promise<unknown[]>) => {
    const calls: string[] = [];
    const service = new CardsService(
      {
        transaction: async () => {
          calls.push('cancelled its cards');
        },
      } as never,
      { getStates } as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      { warn: (o: object, msg: string) => calls.push(`warn ${msg}`), info: () => undefined } as never,
    );
    const accountMeanwhile = (
      service as unknown as { accountMeanwhile(owner: string, account: string): Promise<string> }
    ).accountMeanwhile.bind(service);
    return { calls, accountMeanwhile };
  };

  it('cancels the cards when the account closed meanwhile', async () => {
    const { calls, accountMeanwhile } = build(async () => [{ account_id: 'a', status: 'closed' }]);
    await expect(accountMeanwhile('u', 'a')).resolves.toBe('closed');
    expect(calls).toEqual(['cancelled its cards']);
  });

  it('says so when the account was frozen meanwhile, and cancels nothing', async () => {
    const { calls, accountMeanwhile } = build(async () => [{ account_id: 'a', status: 'frozen' }]);
    await expect(accountMeanwhile('u', 'a')).resolves.toBe('frozen');
    expect(calls).toEqual([]);
  });

  it('lets the issued card stand, logged, when the account cannot be read (its details kept in by the caller)', async () => {
    const { calls, accountMeanwhile } = build(async () => {
      throw new AppError(504, 'dependency_timeout', 'transactions did not answer');
    });
    await expect(accountMeanwhile('u', 'a')).resolves.toBe('unread');
    expect(calls).toEqual([
      'warn could not read the account again after issuing a card; the card stands, its details kept in',
    ]);
  });
});
