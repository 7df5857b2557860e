import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AUTH_API,
  TRANSACTIONS_API,
  USERS_API,
  type AuthApi,
  type LedgerAccountState,
  type TransactionsApi,
  type UsersApi,
  type UserView,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertCreatedWithinDay,
  assertSomethingToChange,
  decodeCursor,
  encodeCursor,
  jsonAmount,
  LiveSession,
  LOGGER,
  OutboxRelay,
  OutboxService,
  pageOf,
  RateLimiter,
  todayIn,
  type Caller,
  ADVISORY_LOCKS,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CardKeys } from '../data/card-keys';
import { cardNameProblem, embossable, spelledWhole } from '../data/cardholder-name';
import { brandOf, expiryFrom, generatePan } from '../data/pan';
import { CardDirectory } from '../network/card-directory';
import { CARD_COLUMNS, cardView, type CardRow } from './card-rows';
import { cancelCardsOfClosedAccount } from './account-closures';
import {
  type AuthorisationDto,
  type AuthorisationListDto,
  type CancelCardDto,
  type CancelledCardDto,
  type CardDetailsDto,
  type CardDto,
  type CardListDto,
  type IssueCardDto,
  type IssuedCardDto,
  type UpdateLimitsDto,
} from './card.dto';
import { CardsConfig } from '../cards.config';

/** Cards one customer may hold that are not cancelled: each is a number that can be spent with. */
export const MAX_CARDS_PER_CUSTOMER = 10;

/** Key space (pg_advisory_xact_lock's two-int form) of card issuing, per customer. */
const ISSUE_LOCK = ADVISORY_LOCKS.cardIssue;

/** Takes the owner's issue lock (one new card at a time per customer; a staff block takes it too). */
export async function lockCardIssue(m: EntityManager, ownerId: string): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [ISSUE_LOCK, ownerId]);
}

/**
 * Under the owner's issue lock: a staff block holds the customer, not only the card. A new card (on any
 * account, also after cancelling the blocked one, also as another card's replacement) would escape it.
 * Staff lift it (unblock also works on a cancelled card).
 */
async function assertNoCardBlocked(m: EntityManager, ownerId: string): Promise<void> {
  const [{ blocked }] = (await m.query(
    `SELECT EXISTS (SELECT 1 FROM cards.cards WHERE owner_id = $1 AND blocked_by_staff) AS blocked`,
    [ownerId],
  )) as { blocked: boolean }[];
  if (blocked) {
    throw AppError.conflict(
      'card_blocked',
      'The bank has blocked one of your cards: no new card is issued until the block is lifted; contact us',
    );
  }
}

/** A fresh number collides with an existing one about never; a few tries make it certain. */
const PAN_ATTEMPTS = 5;

const notFound = (field = 'id') =>
  new AppError(404, 'not_found', 'Card not found', [{ field, message: 'no such card of yours' }]);
const cancelled = () => AppError.conflict('card_cancelled', 'The card is cancelled');
const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);

/** What the service needs of the HTTP request behind a reveal, for the audit trail. */
export interface RevealMeta {
  ip: string | undefined;
  requestId: string | undefined;
}

/**
 * A cancelled card has no details to show. A staff block is the bank's fraud stop: whoever holds the
 * session and the password (the customer or someone who took their account over) does not get the details
 * of a card the bank stopped.
 */
function assertCardRevealable(card: CardRow): void {
  if (card.status === 'cancelled') throw cancelled();
  if (card.blocked_by_staff) {
    throw AppError.conflict(
      'card_blocked',
      'The bank has blocked this card: its details are not shown until the block is lifted; contact us',
    );
  }
}

/**
 * The name a new card carries: the one asked for, when it is a form of the holder's verified name (else 422
 * naming cardholder_name, before anything is written), or that name as embossed by default. A name with a
 * word that has no Latin spelling here (Han, Arabic…) is spelt as the Latin spelling verified with it (KYC
 * latin_name), when there is one: a name spelt whole never is, so a latin_name that is not the name (staff
 * approved "BARACK OBAMA" for Alice Smith: helper-165 M1) puts nothing on her cards. A users app older than
 * the Latin spelling (a rolling deploy) sends none.
 */
function cardholderName(
  asked: string | undefined,
  holder: Pick<UserView, 'full_name' | 'latin_name'>,
): string {
  const names =
    holder.latin_name && !spelledWhole(holder.full_name)
      ? [holder.latin_name, holder.full_name]
      : [holder.full_name];
  if (asked === undefined) return embossable(names[0]);
  // As IssueCardDto gives it: trimmed, upper-cased, its spaces collapsed.
  // The first that takes it: a name's check costs up to about 15 ms of CPU (helper-165 I5).
  let problem: string | undefined;
  for (const name of names) {
    const found = cardNameProblem(asked, name);
    if (!found) return asked;
    problem ??= found;
  }
  throw AppError.unprocessable('cardholder_name_not_yours', 'The name on a card must be your own', [
    { field: 'cardholder_name', message: problem! },
  ]);
}

/** The answer to an issue whose card stands but whose details are kept in; details name the card. */
const keptIn = (status: number, code: string, message: string, detail: string) =>
  new AppError(status, code, message, [{ field: 'account_id', message: detail }]);

/**
 * A customer's cards: issue, read (masked), reveal (password checked again, rate-limited, audited),
 * freeze, cancel (and replace), limits, and the card's authorisations. Every route finds the card by id
 * and owner together, so another customer's card is not found (404), never forbidden.
 */
@Injectable()
export class CardsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(AUTH_API) private readonly auth: AuthApi,
    private readonly keys: CardKeys,
    private readonly directory: CardDirectory,
    private readonly limiter: RateLimiter,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly cardsConfig: CardsConfig,
    private readonly sessions: LiveSession,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async issue(caller: Caller, body: IssueCardDto): Promise<IssuedCardDto> {
    const account = await this.activeAccount(caller.user_id, body.account_id);
    const name = cardholderName(body.cardholder_name, await this.users.getProfile(caller.user_id));
    const issued = await this.dataSource.transaction(async (m) => {
      // One issue at a time per customer, so parallel requests cannot all pass the cap.
      await lockCardIssue(m, caller.user_id);
      const [{ n }] = (await m.query(
        `SELECT count(*)::int AS n FROM cards.cards WHERE owner_id = $1 AND status <> 'cancelled'`,
        [caller.user_id],
      )) as { n: number }[];
      if (n >= MAX_CARDS_PER_CUSTOMER) {
        throw AppError.unprocessable(
          'too_many_cards',
          `You can hold at most ${MAX_CARDS_PER_CUSTOMER} cards; cancel one first`,
        );
      }
      await assertNoCardBlocked(m, caller.user_id);
      await this.assertIssuesWithinDay(m, caller.user_id);
      // The session too, as a reveal reads it (Redis, one read): a logout-all, a disable or a role change
      // answered while the issue waited has ended it, and no number goes to it (helper-163).
      await this.sessions.assert(caller);
      return this.insertCard(m, {
        owner_id: caller.user_id,
        account,
        type: body.type,
        cardholder_name: name,
        replaces: null,
      });
    });
    const now = await this.accountMeanwhile(caller.user_id, account.account_id);
    // Closed meanwhile: the card was made (logged as issued) and is cancelled with the account's others.
    // Kept, as every card the bank made is, and named here, so the cancelled card GET /cards then lists
    // is explained (helper-166 F2; an order refused so is named alike: OrderChecks).
    if (now === 'closed') {
      throw keptIn(
        409,
        'account_closed',
        'The account was closed as the card was issued: the card is cancelled',
        `closed as card ${issued.id} was issued: cancelled`,
      );
    }
    // Staff froze the account while the card was made, or it could not be read again: its number and CVC
    // are kept in, as a reveal keeps them in while a freeze lasts or the account cannot be read (helper-160
    // #2, helper-163). The card stands, masked in GET /cards, and a reveal shows its details once the
    // account is readable and not frozen; codes of their own, as account_frozen says nothing was issued.
    if (now === 'frozen') {
      throw keptIn(
        409,
        'issued_while_frozen',
        'The bank froze the account as the card was issued: its details are not shown until the freeze is lifted; contact us',
        `frozen as card ${issued.id} was issued: reveal it once the freeze is lifted`,
      );
    }
    if (now === 'unread') {
      throw keptIn(
        503,
        'issued_unchecked',
        'The card was issued, but its account could not be checked: reveal its details in a moment',
        `not readable as card ${issued.id} was issued: reveal it in a moment`,
      );
    }
    return issued;
  }

  /**
   * Under the owner's issue lock: at most CARD_ISSUES_PER_DAY cards issued to the owner in the last 24
   * hours, replacements and cancelled ones included (429 rate_limited): the cap on cards held let a loop of
   * issuing and cancelling make cards without end, physical ones made and posted (helper-160).
   */
  private assertIssuesWithinDay(m: EntityManager, ownerId: string): Promise<void> {
    return assertCreatedWithinDay(m, {
      table: 'cards.cards',
      ownerId,
      perDay: this.cardsConfig.cardIssuesPerDay,
      what: 'cards issued to you',
    });
  }

  /**
   * The account was read active before the card's transaction; read again after the commit, what it is
   * now. If it closed meanwhile, its account.closed handler may have cancelled its cards before this one
   * was committed: closed now, its cards are cancelled here ('closed'); still open, a closing comes later
   * and its handler sees the new card. Frozen meanwhile ('frozen') or not read ('unread', logged), the
   * card stands and the caller keeps its details in. No lock spans the read, which may cross RabbitMQ.
   */
  private async accountMeanwhile(
    ownerId: string,
    accountId: string,
  ): Promise<'closed' | 'frozen' | 'active' | 'unread'> {
    let now: LedgerAccountState | undefined;
    try {
      [now] = await this.ledger.getStates([accountId]);
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message, account_id: accountId },
        'could not read the account again after issuing a card; the card stands, its details kept in',
      );
      return 'unread';
    }
    if (now?.status === 'frozen') return 'frozen';
    if (now?.status !== 'closed') return 'active';
    await this.dataSource.transaction((m) => cancelCardsOfClosedAccount(m, ownerId, accountId));
    return 'closed';
  }

  /**
   * Inserts a new card with a fresh number: retried on the (vanishingly rare) pan_hash collision, inside
   * a savepoint so the caller's transaction survives it. Answers the one view that holds the number.
   */
  private async insertCard(
    m: EntityManager,
    c: {
      owner_id: string;
      account: LedgerAccountState;
      type: 'virtual' | 'physical';
      cardholder_name: string;
      replaces: CardRow | null;
    },
  ): Promise<IssuedCardDto> {
    const bin = this.cardsConfig.cardBin;
    const expiry = expiryFrom(todayIn(this.config.bankTimeZone, new Date()));
    const limits = c.replaces;
    for (let attempt = 1; attempt <= PAN_ATTEMPTS; attempt++) {
      const id = randomUUID();
      const pan = generatePan(bin);
      const rows = (await m.query(
        `INSERT INTO cards.cards (id, owner_id, account_id, currency, type, brand, pan_encrypted, pan_hash, last4,
                                  expiry_month, expiry_year, cardholder_name, replaces, limit_per_transaction,
                                  limit_daily, limit_monthly, online_allowed, contactless_allowed, atm_allowed,
                                  blocked_categories)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 coalesce($17, true), coalesce($18, true), coalesce($19, true), coalesce($20, '{}'::text[]))
         ON CONFLICT ON CONSTRAINT cards_pan_hash_key DO NOTHING
         RETURNING ${CARD_COLUMNS}`,
        [
          id,
          c.owner_id,
          c.account.account_id,
          c.account.currency,
          c.type,
          brandOf(bin),
          this.keys.encrypt(pan, id),
          this.keys.hash(pan),
          pan.slice(-4),
          expiry.month,
          expiry.year,
          c.cardholder_name,
          c.replaces?.id ?? null,
          limits?.limit_per_transaction ?? null,
          limits?.limit_daily ?? null,
          limits?.limit_monthly ?? null,
          limits?.online_allowed ?? null,
          limits?.contactless_allowed ?? null,
          limits?.atm_allowed ?? null,
          limits?.blocked_categories ?? null,
        ],
      )) as CardRow[];
      if (rows.length) {
        this.logger.info(
          { security_event: 'card_issued', card_id: id, owner_id: c.owner_id, replaces: c.replaces?.id },
          'card issued',
        );
        return { ...cardView(rows[0]), pan, cvc: this.keys.cvc(pan, expiry.month, expiry.year) };
      }
    }
    // Each of PAN_ATTEMPTS random numbers was taken: the BIN's range is close to full (or the generator broke).
    this.logger.error({ owner_id: c.owner_id, attempts: PAN_ATTEMPTS }, 'no card number could be allocated');
    throw new AppError(503, 'try_again', 'No card number could be allocated; try again');
  }

  /** The caller's account, found through the ledger: 404 naming account_id unless theirs, 409 unless active. */
  private async activeAccount(ownerId: string, accountId: string): Promise<LedgerAccountState> {
    const [account] = await this.ledger.getStates([accountId]);
    if (!account || account.owner_id !== ownerId) {
      throw new AppError(404, 'not_found', 'Account not found', [
        { field: 'account_id', message: 'no such account of yours' },
      ]);
    }
    if (account.status === 'closed') {
      throw new AppError(409, 'account_closed', 'The account is closed', [
        { field: 'account_id', message: 'this account is closed: no card is issued on it' },
      ]);
    }
    if (account.status === 'frozen') {
      throw new AppError(409, 'account_frozen', 'The account is frozen', [
        { field: 'account_id', message: 'this account is frozen: no card is issued on it' },
      ]);
    }
    return account;
  }

  async list(ownerId: string, cursor: string | undefined, limit: number): Promise<CardListDto> {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = (await this.dataSource.query(
      `SELECT ${CARD_COLUMNS} FROM cards.cards
        WHERE owner_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
        ORDER BY created_at, id LIMIT $4`,
      [ownerId, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as CardRow[];
    return pageOf(rows, limit, cardView, (last) => encodeCursor(last));
  }

  /** The caller's card; 404 otherwise, another customer's included. */
  async own(
    ownerId: string,
    id: string,
    m: EntityManager = this.dataSource.manager,
    lock: boolean | 'share' = false,
  ) {
    const locking = lock === 'share' ? ' FOR SHARE' : lock ? ' FOR UPDATE' : '';
    const [row] = (await m.query(
      `SELECT ${CARD_COLUMNS} FROM cards.cards WHERE id = $1 AND owner_id = $2${locking}`,
      [id, ownerId],
    )) as CardRow[];
    if (!row) throw notFound();
    return row;
  }

  async get(ownerId: string, id: string): Promise<CardDto> {
    return cardView(await this.own(ownerId, id));
  }

  /**
   * The card's number, expiry and CVC, after the password is checked again. Every attempt counts against
   * the customer's hourly limit before anything else (so guesses sent in parallel cannot pass it), unless
   * the password could not be checked, and every attempt that reaches the password check is written to
   * cards.reveals, success or not (but one that a block, cancel or freeze during the check refused:
   * nothing was shown; logged as card_reveal_stopped).
   */
  async reveal(caller: Caller, id: string, password: string, meta: RevealMeta): Promise<CardDetailsDto> {
    const limit = this.cardsConfig.cardRevealRateLimitPerHour;
    const hit = await this.limiter.hit('card-reveal', caller.user_id, limit, 3600);
    if (!hit.allowed) {
      this.logger.warn(
        { security_event: 'card_reveal_rate_limited', user_id: caller.user_id, card_id: id, ip: meta.ip },
        'card reveal refused: rate limit',
      );
      throw AppError.tooManyRequests('rate_limited', 'Too many card reveals', hit.retryAfter);
    }
    const card = await this.own(caller.user_id, id);
    // Before the password check (none made for a card whose details would not be shown), and again after
    // it, below: the check takes tens of milliseconds, and a block, freeze or cancel answered within them
    // must not be followed by the details (helper-121 had them after each).
    assertCardRevealable(card);
    await this.assertAccountRevealable(card.account_id);
    let valid: boolean;
    try {
      ({ valid } = await this.auth.verifyPassword({ user_id: caller.user_id, password }));
    } catch (err) {
      // The password was never checked (503 auth_busy, auth away): the attempt is given back, as a
      // login's is, or a busy hour would use up the customer's reveals.
      await this.limiter.release('card-reveal', caller.user_id).catch(() => undefined);
      throw err;
    }
    const attempt = `INSERT INTO cards.reveals (id, card_id, owner_id, outcome, ip, request_id)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`;
    const params = [
      randomUUID(),
      card.id,
      caller.user_id,
      valid ? 'revealed' : 'wrong_password',
      meta.ip ?? null,
      meta.requestId ?? null,
    ];
    if (valid) {
      try {
        // A staff freeze is the ledger's: read again, before the transaction (no lock is held across a
        // call that may cross RabbitMQ).
        await this.assertAccountRevealable(card.account_id);
        await this.dataSource.transaction(async (m) => {
          // Read again and held (FOR SHARE) until the record commits: a block or cancel committed since
          // the first read refuses the details; one still to come waits for this commit, so it is
          // answered after the reveal is decided.
          assertCardRevealable(await this.own(caller.user_id, id, m, 'share'));
          // The session too (Redis, one read): a logout-all, a disable or a role change answered during the
          // check has ended it.
          await this.sessions.assert(caller);
          // The record and the owner's security notice (card.revealed) in one statement.
          await this.outbox.addIfChanged(m, 'cards', attempt, params, {
            name: 'card.revealed',
            input: { card_id: card.id, last4: card.last4, owner_id: caller.user_id },
          });
        });
      } catch (err) {
        // The right password, and no details: not in cards.reveals (nothing was shown), but logged.
        this.logger.warn(
          {
            security_event: 'card_reveal_stopped',
            user_id: caller.user_id,
            card_id: card.id,
            ip: meta.ip,
            code: err instanceof AppError ? err.code : 'error',
          },
          'card reveal stopped after the password check',
        );
        throw err;
      }
      this.relay.kickSoon();
    } else {
      await this.dataSource.query(attempt, params);
    }
    this.logger.info(
      {
        security_event: valid ? 'card_revealed' : 'card_reveal_wrong_password',
        user_id: caller.user_id,
        card_id: card.id,
        ip: meta.ip,
      },
      valid ? 'card details revealed' : 'card reveal refused: wrong password',
    );
    if (!valid) {
      throw new AppError(401, 'invalid_password', 'The password is not right', [
        { field: 'password', message: 'password is not your current password' },
      ]);
    }
    const pan = this.keys.decrypt(card.pan_encrypted, card.id);
    return {
      id: card.id,
      pan,
      expiry_month: card.expiry_month,
      expiry_year: card.expiry_year,
      cvc: this.keys.cvc(pan, card.expiry_month, card.expiry_year),
      cardholder_name: card.cardholder_name,
    };
  }

  /**
   * A staff freeze of the card's account (a takeover or a financial-crime hold) keeps its details in: no
   * money leaves it, and no details leave with whoever holds the session, to be used once it is lifted.
   */
  private async assertAccountRevealable(accountId: string): Promise<void> {
    const [account] = await this.ledger.getStates([accountId]);
    if (account?.status === 'frozen') {
      throw AppError.conflict(
        'account_frozen',
        "The bank has frozen this card's account: its details are not shown until the freeze is lifted; contact us",
      );
    }
  }

  /**
   * Idempotent: freezing a frozen card answers it frozen. A cancelled card is 409. One statement that
   * locks the row whether or not it changes it, so the answer is the card as this call left it: read apart
   * from the UPDATE, an unfreeze committing between the two made a freeze answer `active` (helper-131).
   */
  async freeze(ownerId: string, id: string): Promise<CardDto> {
    const [rows] = (await this.dataSource.query(
      `UPDATE cards.cards
          SET status = 'frozen', updated_at = CASE WHEN status = 'active' THEN now() ELSE updated_at END
        WHERE id = $1 AND owner_id = $2 AND status IN ('active', 'frozen') RETURNING ${CARD_COLUMNS}`,
      [id, ownerId],
    )) as [CardRow[], number];
    if (rows.length) return cardView(rows[0]);
    const card = await this.own(ownerId, id);
    if (card.status === 'cancelled') throw cancelled();
    return cardView(card);
  }

  /**
   * Idempotent like freeze; 409 card_blocked while staff block the card, whatever its status: the block
   * outranks the customer. The row is locked first and the change made under that lock, so a block
   * committing at the same moment is seen (the lock waits for it and reads the row it left), and the
   * answer is the card as this call left it (helper-131; see freeze).
   */
  async unfreeze(ownerId: string, id: string): Promise<CardDto> {
    const changed = await this.dataSource.transaction(async (m) => {
      const [before] = (await m.query(
        `SELECT status, blocked_by_staff FROM cards.cards WHERE id = $1 AND owner_id = $2 FOR UPDATE`,
        [id, ownerId],
      )) as Pick<CardRow, 'status' | 'blocked_by_staff'>[];
      if (!before || before.status === 'cancelled' || before.blocked_by_staff) return undefined;
      const [rows] = (await m.query(
        `UPDATE cards.cards
            SET status = 'active', updated_at = CASE WHEN status = 'frozen' THEN now() ELSE updated_at END
          WHERE id = $1 RETURNING ${CARD_COLUMNS}`,
        [id],
      )) as [CardRow[], number];
      return { card: rows[0], was: before.status };
    });
    if (changed) {
      // Its owner vouches for the card again: wrong-details declines before now no longer count.
      if (changed.was === 'frozen') await this.directory.forgetDataFailures(id);
      return cardView(changed.card);
    }
    const card = await this.own(ownerId, id);
    if (card.status === 'cancelled') throw cancelled();
    if (card.blocked_by_staff)
      throw AppError.conflict('card_blocked', 'The bank has blocked this card; contact us to lift the block');
    return cardView(card);
  }

  /**
   * Cancels for good. With replace, a new card (new number and expiry; same account, type, name and
   * limits) is issued in the same transaction; its number is not in this answer (reveal it). A card that
   * staff block cannot be replaced by its owner (the new one would escape the block), nor can a card whose
   * account is no longer active; both are refused before anything changes.
   */
  async cancel(ownerId: string, id: string, body: CancelCardDto): Promise<CancelledCardDto> {
    const account = body.replace ? await this.replacementAccount(ownerId, id) : null;
    const done = await this.dataSource.transaction(async (m) => {
      // A replacement is a new card: the issue lock first, then the card's row (a block's order).
      if (account) await lockCardIssue(m, ownerId);
      const card = await this.own(ownerId, id, m, true);
      if (card.status === 'cancelled') throw cancelled();
      if (account && card.blocked_by_staff) {
        throw AppError.conflict(
          'card_blocked',
          'The bank has blocked this card: it can be cancelled, but not replaced; contact us',
        );
      }
      if (account) {
        await assertNoCardBlocked(m, ownerId);
        await this.assertIssuesWithinDay(m, ownerId);
      }
      const replacement = account
        ? await this.insertCard(m, {
            owner_id: ownerId,
            account,
            type: card.type,
            cardholder_name: card.cardholder_name,
            replaces: card,
          })
        : null;
      const [rows] = (await m.query(
        `UPDATE cards.cards SET status = 'cancelled', cancel_reason = $2, cancelled_at = now(), replaced_by = $3,
                updated_at = now()
          WHERE id = $1 RETURNING ${CARD_COLUMNS}`,
        [id, body.reason, replacement?.id ?? null],
      )) as [CardRow[], number];
      this.logger.info(
        { security_event: 'card_cancelled', card_id: id, owner_id: ownerId, reason: body.reason },
        'card cancelled',
      );
      if (!replacement) return { card: cardView(rows[0]), replacement: null };
      // The new number was shown nowhere: the masked view only.
      const { pan: _pan, cvc: _cvc, ...masked } = replacement;
      return { card: cardView(rows[0]), replacement: masked };
    });
    // The card is cancelled as asked; a replacement on an account closed meanwhile is cancelled with it.
    if (
      done.replacement &&
      (await this.accountMeanwhile(ownerId, done.replacement.account_id)) === 'closed'
    ) {
      return { ...done, replacement: cardView(await this.own(ownerId, done.replacement.id)) };
    }
    return done;
  }

  private async replacementAccount(ownerId: string, id: string): Promise<LedgerAccountState> {
    const card = await this.own(ownerId, id);
    return this.activeAccount(ownerId, card.account_id).catch((err: unknown) => {
      if (err instanceof AppError && err.status === 409) {
        throw AppError.conflict(
          err.code,
          `${err.message}: no replacement can be issued on it (cancel without replace)`,
        );
      }
      throw err;
    });
  }

  /**
   * Changes only the limits given, under the card's row lock: the result must keep per_transaction <=
   * daily <= monthly wherever both are set (400 naming the field that breaks it).
   */
  async updateLimits(ownerId: string, id: string, body: UpdateLimitsDto): Promise<CardDto> {
    assertSomethingToChange(
      body,
      'give at least one limit to change',
      'give per_transaction, daily, monthly, online, contactless, atm or blocked_categories',
    );
    return this.dataSource.transaction(async (m) => {
      const card = await this.own(ownerId, id, m, true);
      if (card.status === 'cancelled') throw cancelled();
      const pick = (field: keyof UpdateLimitsDto, current: string | null) =>
        body[field] === undefined
          ? current === null
            ? null
            : Number(current)
          : (body[field] as number | null);
      const next = {
        per_transaction: pick('per_transaction', card.limit_per_transaction),
        daily: pick('daily', card.limit_daily),
        monthly: pick('monthly', card.limit_monthly),
      };
      const order: [keyof typeof next, keyof typeof next][] = [
        ['per_transaction', 'daily'],
        ['per_transaction', 'monthly'],
        ['daily', 'monthly'],
      ];
      for (const [low, high] of order) {
        const [a, b] = [next[low], next[high]];
        if (a !== null && b !== null && a > b) {
          // Name the field this request set; when it set both, the lower one.
          const field = body[low] !== undefined ? low : high;
          throw invalid(field, `${low} (${a}) must not exceed ${high} (${b})`);
        }
      }
      const [rows] = (await m.query(
        `UPDATE cards.cards
            SET limit_per_transaction = $2, limit_daily = $3, limit_monthly = $4,
                online_allowed = coalesce($5, online_allowed), contactless_allowed = coalesce($6, contactless_allowed),
                atm_allowed = coalesce($7, atm_allowed), blocked_categories = coalesce($8::text[], blocked_categories),
                updated_at = now()
          WHERE id = $1 RETURNING ${CARD_COLUMNS}`,
        [
          id,
          next.per_transaction,
          next.daily,
          next.monthly,
          body.online ?? null,
          body.contactless ?? null,
          body.atm ?? null,
          body.blocked_categories ?? null,
        ],
      )) as [CardRow[], number];
      return cardView(rows[0]);
    });
  }

  /** The card's authorisations, newest first, optionally of one status. */
  async authorisations(
    ownerId: string,
    id: string,
    status: string | undefined,
    cursor: string | undefined,
    limit: number,
  ): Promise<AuthorisationListDto> {
    await this.own(ownerId, id);
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = (await this.dataSource.query(
      `SELECT a.id, a.card_id, a.amount, a.currency, a.merchant, a.category, a.channel, a.status,
              a.decline_reason, a.cleared_amount, a.transaction_id, a.forced, a.created_at, a.updated_at,
              r.reversal_id AS reversed_by_id, r.reversed_at
         FROM cards.authorisations a LEFT JOIN cards.reversals r ON r.transaction_id = a.transaction_id
        WHERE a.card_id = $1 AND ($2::text IS NULL OR a.status = $2)
          AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3, $4::uuid))
        ORDER BY a.created_at DESC, a.id DESC LIMIT $5`,
      [id, status ?? null, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as AuthorisationRow[];
    return pageOf(rows, limit, authorisationView, (last) => encodeCursor(last));
  }
}

interface AuthorisationRow {
  id: string;
  card_id: string;
  amount: string;
  currency: AuthorisationDto['currency'];
  merchant: Partial<AuthorisationDto['merchant']>;
  category: string;
  channel: string;
  status: string;
  decline_reason: string | null;
  cleared_amount: string | null;
  transaction_id: string | null;
  forced: boolean;
  created_at: Date;
  updated_at: Date;
  /** Staff's reversal of its clearing (cards.reversals, from transaction.reversed), if any. */
  reversed_by_id: string | null;
  reversed_at: Date | null;
}

const authorisationView = (r: AuthorisationRow): AuthorisationDto => ({
  id: r.id,
  card_id: r.card_id,
  amount: jsonAmount(r.amount),
  currency: r.currency,
  merchant: {
    name: r.merchant.name ?? '',
    category_code: r.merchant.category_code ?? '',
    city: r.merchant.city ?? null,
    country: r.merchant.country ?? null,
  },
  category: r.category,
  channel: r.channel,
  status: r.status,
  decline_reason: r.decline_reason,
  cleared_amount: r.cleared_amount === null ? null : jsonAmount(r.cleared_amount),
  transaction_id: r.transaction_id,
  forced: r.forced,
  reversed_by_id: r.reversed_by_id,
  reversed_at: r.reversed_at ? r.reversed_at.toISOString() : null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});
