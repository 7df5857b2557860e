import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  BALANCE_CACHE_TTL_SECONDS,
  balanceCacheEntry,
  balanceCacheKey,
  formatSortCode,
  TRANSACTIONS_API,
  USERS_API,
  type CachedBalance,
  type LedgerAccountState,
  type TransactionsApi,
  type UsersApi,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertMaySeeOwner,
  assertNoColleagueRead,
  isStaff,
  jsonAmount,
  LOGGER,
  RateLimiter,
  VersionedCache,
  type Caller,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import type { OpenAccountDto } from './account.dto';
import { randomAccountNumber, withFreshNumber } from './account-numbers';
import { AccountEntity } from './account.entity';
import { AccountsConfig } from '../accounts.config';

const DEFAULT_NAMES = { current: 'Current account', savings: 'Savings account' };

/** A customer's opening in progress (see open), held at most this long if its process dies. */
const OPENING = 'account-opening';
const OPENING_CLAIM_SECONDS = 30;

export function accountView(a: AccountEntity, s: LedgerAccountState) {
  return {
    id: a.id,
    owner_id: a.owner_id,
    sort_code: formatSortCode(a.sort_code),
    account_number: a.account_number,
    type: a.type,
    currency: a.currency,
    name: a.name,
    status: s.status,
    balance: jsonAmount(s.balance),
    held_amount: jsonAmount(s.held),
    available_balance: jsonAmount(s.available_balance),
    overdraft_limit: jsonAmount(s.overdraft_limit),
    created_at: a.created_at.toISOString(),
  };
}

/**
 * Customer accounts: opening (KYC-verified customers only), reading with the ledger's state, the cached
 * balance, closing. The ledger (TRANSACTIONS_API) holds balance, status and limit; this module holds who
 * owns the account and how it is numbered and named.
 */
@Injectable()
export class AccountsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly cache: VersionedCache,
    private readonly config: AppConfig,
    private readonly accountsConfig: AccountsConfig,
    private readonly limiter: RateLimiter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private get repo() {
    return this.dataSource.getRepository(AccountEntity);
  }

  /**
   * Opens an account for a verified customer, within MAX_ACCOUNTS_PER_CUSTOMER. The cap is counted in
   * two modules (owners here, open or closed in the ledger) and no one transaction covers the count and
   * the new account, so a customer opens one account at a time: a claim in Redis, taken before the
   * count and given back after the insert. Without it, openings sent in parallel all counted the same
   * accounts and all passed (150 at once opened 111). A second opening while one runs is 409.
   */
  async open(caller: Caller, body: OpenAccountDto) {
    const { status } = await this.users.getKycStatus(caller.user_id);
    if (status !== 'verified') {
      throw new AppError(403, 'kyc_required', 'Accounts can be opened once your identity (KYC) is verified');
    }
    const claim = await this.limiter.hit(OPENING, caller.user_id, 1, OPENING_CLAIM_SECONDS);
    try {
      if (!claim.allowed) {
        throw AppError.conflict(
          'opening_in_progress',
          'Another account is being opened for you; try again once it is open',
        );
      }
      return await this.openClaimed(caller, body);
    } finally {
      // Every hit is given back, the refused ones too. Best effort: a claim left behind expires.
      await this.limiter.release(OPENING, caller.user_id).catch((err: unknown) => {
        this.logger.warn({ err }, 'account opening claim not released');
      });
    }
  }

  private async openClaimed(caller: Caller, body: OpenAccountDto) {
    const mine = await this.repo.findBy({ owner_id: caller.user_id });
    const open = (await this.ledger.getStates(mine.map((a) => a.id))).filter((s) => s.status !== 'closed');
    if (open.length >= this.accountsConfig.maxAccountsPerCustomer) {
      throw AppError.unprocessable(
        'too_many_accounts',
        `A customer may hold at most ${this.accountsConfig.maxAccountsPerCustomer} open accounts`,
      );
    }
    const id = randomUUID();
    // The ledger side first: an account row never exists without its ledger row. If this process dies
    // in between, the ledger row is left with no account and no number: unreachable, zero, harmless.
    const state = await this.ledger.openAccount({
      account_id: id,
      owner_id: caller.user_id,
      currency: body.currency,
    });
    const account = await withFreshNumber(
      () => randomAccountNumber(this.config.sortCode),
      async (number) => {
        const row = this.repo.create({
          id,
          owner_id: caller.user_id,
          sort_code: this.config.sortCode,
          account_number: number,
          type: body.type,
          currency: body.currency,
          name: body.name ?? DEFAULT_NAMES[body.type],
          created_at: new Date(),
        });
        await this.repo.insert(row);
        return row;
      },
    );
    return accountView(account, state);
  }

  async list(ownerId: string) {
    const accounts = await this.repo.find({
      where: { owner_id: ownerId },
      order: { created_at: 'ASC', id: 'ASC' },
    });
    const states = new Map(
      (await this.ledger.getStates(accounts.map((a) => a.id))).map((s) => [s.account_id, s]),
    );
    return {
      data: accounts.filter((a) => states.has(a.id)).map((a) => accountView(a, states.get(a.id)!)),
      next_cursor: null,
    };
  }

  /**
   * The account if the caller may see it (its owner, or staff); 404 otherwise, and 403
   * colleague_account for a staff member reading a colleague's. Another's read by staff or an admin is
   * filed in the audit trail as `viewed` (assertMaySeeOwner).
   */
  async visible(caller: Caller, id: string, viewed: 'account' | 'statement'): Promise<AccountEntity> {
    const account = await this.found(caller, id);
    await this.assertMaySeeAccount(caller, account, viewed);
    return account;
  }

  /**
   * visible without the filing, for a read that may still fail after it (a statement too large: 422): a
   * staff member reading a colleague's is refused here all the same, before the ledger is asked
   * (assertNoColleagueRead), and the caller files the read with assertMaySeeAccount once it has what it
   * will show.
   */
  async toBeRead(caller: Caller, id: string): Promise<AccountEntity> {
    const account = await this.found(caller, id);
    await assertNoColleagueRead(caller, account.owner_id, this.users);
    return account;
  }

  /** The account if its owner or staff asks (404 otherwise); nothing checked of staff, nothing filed. */
  private async found(caller: Caller, id: string): Promise<AccountEntity> {
    const account = await this.repo.findOneBy({ id });
    if (!account || (account.owner_id !== caller.user_id && !isStaff(caller)))
      throw AppError.notFound('account', 'id');
    return account;
  }

  /** assertMaySeeOwner for one account: staff and admins' reads of another's filed as `viewed`. */
  assertMaySeeAccount(
    caller: Caller,
    account: Pick<AccountEntity, 'id' | 'owner_id'>,
    viewed: 'account' | 'statement' = 'account',
  ): Promise<void> {
    return assertMaySeeOwner(caller, account.owner_id, this.users, {
      resource_type: 'account',
      resource_id: account.id,
      viewed,
    });
  }

  /**
   * 403 colleague_account when a staff member asks for a colleague's accounts; the read filed in the audit
   * trail (assertMaySeeOwner).
   */
  assertMaySeeAccountsOf(caller: Caller, ownerId: string): Promise<void> {
    return assertMaySeeOwner(caller, ownerId, this.users, {
      resource_type: 'user',
      resource_id: ownerId,
      viewed: 'accounts',
    });
  }

  /** The role of an account's owner (customer, staff or admin), as users has it now. */
  async ownerRole(ownerId: string): Promise<string> {
    return (await this.users.getProfile(ownerId)).role;
  }

  /** Any account, for staff routes (the path's `id`); 404 naming it when there is none. */
  async byId(id: string): Promise<AccountEntity> {
    const account = await this.repo.findOneBy({ id });
    if (!account) throw AppError.notFound('account', 'id');
    return account;
  }

  async get(caller: Caller, id: string) {
    const account = await this.visible(caller, id, 'account');
    return accountView(account, await this.state(id));
  }

  async state(id: string): Promise<LedgerAccountState> {
    const [state] = await this.ledger.getStates([id]);
    if (!state) throw AppError.notFound('account');
    return state;
  }

  /**
   * The balance from the cache (60 s TTL) or the ledger. Postings write the cache after they commit and
   * before they answer, with the ledger row's version, and a stale read never overwrites a newer entry;
   * so a read after a successful transfer sees its effect.
   */
  async balance(caller: Caller, id: string) {
    await this.visible(caller, id, 'account');
    const key = balanceCacheKey(id);
    let cached: CachedBalance | undefined;
    try {
      cached = await this.cache.get<CachedBalance>(key);
    } catch (err) {
      this.logger.warn({ err }, 'balance cache unavailable; reading the ledger');
    }
    if (!cached) {
      const entry = balanceCacheEntry(await this.state(id));
      cached = entry.value;
      await this.cache.setIfNewer([entry], BALANCE_CACHE_TTL_SECONDS).catch((err: unknown) => {
        this.logger.warn({ err }, 'balance not cached');
      });
    }
    return {
      account_id: id,
      currency: cached.currency,
      balance: jsonAmount(cached.balance),
      held_amount: jsonAmount(cached.held ?? '0'),
      available_balance: jsonAmount(cached.available_balance),
      as_of: cached.as_of,
    };
  }

  /** Closes the caller's account in the ledger (owners close, not staff), holding its row as rename does. */
  async close(caller: Caller, id: string) {
    return this.ownedAndLocked(caller, id, async (account) =>
      accountView(account, await this.ledger.close(id)),
    );
  }

  /**
   * Renames the caller's account: owners rename, not staff (404 otherwise, as for closing). A closed
   * account keeps the name it was closed under (409 account_closed, naming `id`). The status is the
   * ledger's, in another module, so rename and close each hold the account's row here while they read or
   * change it: one waits for the other, and a rename never lands on an account closed after it looked
   * (helper-169 renamed one so, and was answered that it was active).
   */
  async rename(caller: Caller, id: string, name: string) {
    return this.ownedAndLocked(caller, id, async (account, m) => {
      const state = await this.state(id);
      if (state.status === 'closed') {
        throw new AppError(409, 'account_closed', 'The account is closed', [
          { field: 'id', message: 'this account is closed' },
        ]);
      }
      if (account.name !== name) {
        await m.update(AccountEntity, { id }, { name });
        account.name = name;
      }
      return accountView(account, state);
    });
  }

  /**
   * Runs `fn` on the caller's own account with its row held (FOR NO KEY UPDATE) until `fn` ends; 404
   * naming `id` for an account that is not theirs, staff's included.
   */
  private ownedAndLocked<T>(
    caller: Caller,
    id: string,
    fn: (account: AccountEntity, m: EntityManager) => Promise<T>,
  ): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      const account = await m
        .getRepository(AccountEntity)
        .findOne({ where: { id }, lock: { mode: 'for_no_key_update' } });
      if (!account || account.owner_id !== caller.user_id) throw AppError.notFound('account', 'id');
      return fn(account, m);
    });
  }

  async resolveNumber(accountNumber: string) {
    const account = await this.repo.findOneBy({
      sort_code: this.config.sortCode,
      account_number: accountNumber,
    });
    if (!account) throw AppError.notFound('account');
    return { account_id: account.id };
  }
}
