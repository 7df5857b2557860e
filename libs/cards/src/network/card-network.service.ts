import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  TRANSACTIONS_API,
  type CardChannel,
  type CardDeclineReason,
  type CardHoldDeclineReason,
  type Currency,
  type HoldReleaseResult,
  type TransactionsApi,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertAmountWithin,
  jsonAmount,
  LOGGER,
  MetricsService,
  type MoneyCounter,
  OutboxRelay,
  OutboxService,
  requestFingerprint,
} from '@protobank/platform';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CardKeys } from '../data/card-keys';
import { AUTHORISATION_COLUMNS, AUTHORISATIONS, type AuthorisationRow } from './authorisation-row';
import { CardDirectory, type CardRecord } from './card-directory';
import { holdIdOf } from './hold-id';
import { HoldReleases } from './hold-releases';
import { ReleaseNotices } from './release-notices';
import type {
  AuthorisationAnswerDto,
  AuthorisationRequestDto,
  ClearingAnswerDto,
  ClearingRequestDto,
  NetworkDeclineReason,
  NetworkMerchantDto,
  RefundAnswerDto,
  RefundRequestDto,
  ReversalAnswerDto,
  ReversalRequestDto,
} from './network.dto';

/** What an authorisation is recorded as: the card, the amount and the currency it was decided on. */
interface Facts {
  card: CardRecord;
  amount: number;
  currency: string;
}

type Decision = { approved: true } | { approved: false; reason: CardDeclineReason };

const CHANNEL_ALLOWED: Record<CardChannel, (l: CardRecord['limits']) => boolean> = {
  online: (l) => l.online,
  contactless: (l) => l.contactless,
  atm: (l) => l.atm,
  chip: () => true,
};

const notFound = (field: string, what: string) =>
  new AppError(404, 'not_found', `${what} not found`, [{ field, message: `no such ${what.toLowerCase()}` }]);

/**
 * The card network's side of cards: authorisations (decided here and in the ledger, which holds the
 * money), clearings (posted by the ledger, releasing the hold in the same transaction), reversals and
 * refunds. Every message is idempotent by the network's id: an authorisation through its hold id
 * (derived from it) and its row, the others through cards.network_messages and the ledger's own keys.
 */
@Injectable()
export class CardNetworkService {
  private readonly decisions: Counter<'outcome' | 'reason'>;
  private readonly authorised: MoneyCounter<'currency'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly directory: CardDirectory,
    private readonly keys: CardKeys,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    private readonly releases: HoldReleases,
    private readonly notices: ReleaseNotices,
    private readonly config: AppConfig,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.decisions = metrics.counter(
      'card_authorisations_total',
      'Card authorisations by outcome (approved, declined) and decline reason',
      ['outcome', 'reason'],
    );
    this.authorised = metrics.moneyCounter(
      'card_authorised_amount_minor_total',
      'Amounts of approved card authorisations, in minor units, by currency (counted once recorded)',
      ['currency'],
    );
  }

  /**
   * Decides an authorisation. The card's own checks (its data, state, channel, category, currency and
   * per-transaction limit) come first, here; then one call into the ledger decides the account, the
   * daily and monthly limits and the funds under the account's row lock and places the hold.
   *
   * Exactly once, with no write before the ledger call: the hold's id is derived from the network's id,
   * so a retry after a crash between the ledger's decision and its recording asks the ledger for the same
   * hold, and the ledger replays it. The first decision recorded is the answer for good, and the hold
   * follows it: an attempt that lost to a decline releases what it held, and a decline recorded after a
   * card check releases a hold a crashed earlier attempt may have placed.
   */
  async authorise(body: AuthorisationRequestDto): Promise<AuthorisationAnswerDto> {
    // The network reversed this id in full before a decision of it was recorded: its timeout reversal
    // overtook it, or this is a repeat sent after that reversal. Nothing is held for it, and nothing is
    // placed, recorded or told now: approving it would tell the merchant money is held when none is. (One
    // query on two unique indexes for every authorisation.)
    if (await this.reversedUndecided(body.network_transaction_id)) return this.declinedReversed();
    // A retry is not looked up first: it runs as the first attempt did, the ledger replays that attempt's
    // hold, and its recording finds the first decision (one query fewer for every authorisation).
    const card = await this.directory.lookupByPan(body.pan);
    if (!card) {
      // No card of ours: nothing to record and no one to tell, unless the network id was decided before
      // (a retry whose number got garbled on the way): its first answer stands.
      const first = await this.authorisation(body.network_transaction_id);
      if (first) return this.repeatAnswer(first, holdIdOf(body.network_transaction_id));
      this.decisions.inc({ outcome: 'declined', reason: 'invalid_card' });
      return { approved: false, decline_reason: 'invalid_card' };
    }
    const holdId = holdIdOf(body.network_transaction_id);
    const category = this.directory.categoryOf(body.merchant.category_code);
    const local = await this.checkedDecline(card, body, category);
    const frozen = local.froze;
    if (frozen) {
      this.logger.warn(
        { security_event: 'card_frozen_after_data_failures', card_id: card.id, user_id: card.owner_id },
        'card frozen after repeated wrong card details',
      );
    }
    let decision: Decision;
    let facts: Facts = { card, amount: body.amount, currency: body.currency };
    if (local.reason) decision = { approved: false, reason: local.reason };
    else {
      const result = await this.ledger.authoriseCard({
        hold_id: holdId,
        network_transaction_id: body.network_transaction_id,
        card_id: card.id,
        account_id: card.account_id,
        owner_id: card.owner_id,
        amount: BigInt(body.amount),
        currency: card.currency,
        merchant_name: body.merchant.name,
        category,
        daily_limit: card.limits.daily,
        monthly_limit: card.limits.monthly,
        expires_at: this.directory.holdExpiresAt().toISOString(),
      });
      decision = result.approved
        ? { approved: true }
        : { approved: false, reason: declinedByLedger(result.decline_reason) };
      if (result.replayed) facts = await this.asFirstDecided(holdId, facts);
    }
    // Whether the ledger holds money for it: given back unless an approval of this hold is recorded.
    const held = decision.approved;
    let recorded = await this.record(holdId, body, facts, category, decision);
    let stopped = false;
    for (let tries = 1; !recorded; tries++) {
      const first = await this.authorisation(body.network_transaction_id);
      if (first) {
        // Another attempt recorded its decision first: that is the answer. A decline holds nothing, also
        // when an earlier attempt of ours placed a hold and its release was lost; a hold goes with a
        // forced clearing that holds this network id too (no authorisation of it can be recorded).
        if (first.status === 'declined' || (held && first.id !== holdId)) await this.releases.release(holdId);
        return this.repeatAnswer(first, holdId);
      }
      // An approval is recorded only while its card is still live and its limits are the ones it was
      // decided under (record): it was frozen, cancelled or blocked while the ledger decided, so the card's
      // state declines it and the hold is given back; or its owner changed its limits, and the limits in
      // force now are applied to it (a lower per-transaction limit, a channel or category turned off:
      // declined; the daily and monthly limits are the ledger's to count, and stand as it decided). A card
      // live again by now (unfrozen at once) is asked again, twice; one that keeps changing under it is
      // declined card_frozen: it was stopped each time the approval was to be recorded.
      const now = await this.directory.byId(facts.card.id);
      const reason =
        (now
          ? (this.directory.stateDecline(now) ?? this.usageDecline(now, body, category))
          : 'card_cancelled') ?? (tries >= 3 ? 'card_frozen' : null);
      if (reason) {
        decision = { approved: false, reason };
        stopped = true;
      } else facts = { ...facts, card: now! };
      recorded = await this.record(holdId, body, facts, category, decision);
    }
    if (local.reason || stopped) await this.releases.release(holdId);
    // A network may reverse an authorisation by its own id while we decide it, or before it reaches us.
    // That reversal writes the id to early_reversals before it releases anything and looks for this row
    // after; this looks for the id after the row is written: one of the two sees the other, and the hold
    // is given back and the row marked reversed whichever comes first, and the network told so.
    if (decision.approved && (await this.reversedEarly(body.network_transaction_id))) {
      await this.giveBackReversedEarly(holdId);
      this.relay.kickSoon();
      return this.declinedReversed();
    }
    this.decisions.inc(
      decision.approved
        ? { outcome: 'approved', reason: 'none' }
        : { outcome: 'declined', reason: decision.reason },
    );
    if (decision.approved) this.authorised.add({ currency: facts.currency }, facts.amount);
    this.relay.kickSoon();
    return decision.approved
      ? { approved: true, authorisation_id: holdId }
      : { approved: false, decline_reason: toNetwork(decision.reason) };
  }

  /**
   * Whether the network reversed this id in full by its own id and no decision of it is recorded: the
   * reversal came first (a recorded one runs as any retry, and its first answer stands).
   */
  private async reversedUndecided(networkId: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM cards.early_reversals e WHERE e.network_transaction_id = $1
          AND NOT EXISTS (SELECT 1 FROM cards.authorisations a WHERE a.network_transaction_id = $1)`,
      [networkId],
    )) as unknown[];
    return rows.length > 0;
  }

  /** The answer to an authorisation its network reversed in full: nothing is held for it. */
  private declinedReversed(): AuthorisationAnswerDto {
    this.decisions.inc({ outcome: 'declined', reason: 'reversed' });
    return { approved: false, decline_reason: 'reversed' };
  }

  /** Whether the network reversed this id in full by its own id before a decision of it was recorded. */
  private async reversedEarly(networkId: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM cards.early_reversals WHERE network_transaction_id = $1`,
      [networkId],
    )) as unknown[];
    return rows.length > 0;
  }

  /**
   * The network reversed all of this id's hold by its own id before a decision of it was recorded: written
   * down (committed, before the reversal looks for the row) for the approval recorded after to find.
   */
  private async reversedBeforeAnswer(networkId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO cards.early_reversals (network_transaction_id) VALUES ($1) ON CONFLICT DO NOTHING`,
      [networkId],
    );
  }

  /**
   * An approval of an authorisation the network reversed in full before its decision was recorded: its
   * hold given back, and marked reversed (also HoldExpiry's late pass, for one whose app stopped between).
   */
  async giveBackReversedEarly(holdId: string): Promise<void> {
    await this.markedReversed(holdId, await this.releases.release(holdId));
  }

  /**
   * A pending authorisation whose hold was reversed in full: marked so, and, when its hold was given back
   * (`released`), all of it released and its owner told. One whose release waits in the queue (the ledger
   * could not take it then) stays at what it had released, still held, until the queue gives it back
   * (HoldExpiry.process) or its hold expires: the owner is not told the money is free while it is held.
   */
  private async markedReversed(id: string, released: boolean): Promise<void> {
    await this.notices.record(
      id,
      `UPDATE cards.authorisations
          SET status = 'reversed', released_amount = CASE WHEN $2 THEN amount ELSE released_amount END,
              updated_at = now()
        WHERE id = $1 AND status = 'pending' RETURNING status, released_amount`,
      [released],
      undefined,
      (m) => this.untoldApprovalWithdrawn(m, id),
    );
  }

  /**
   * Takes back the card.authorised of an approval its network reversed before our answer, if no relay
   * ever claimed it: still as written (attempts 0, next_attempt_at its created_at), which a lease, a failed
   * or unconfirmed publish and a crash after a publish all change (helper-163: "unpublished and due" alone
   * also matched a row delivered but not yet marked published). A claim re-checks the row under its own
   * lock, so a row deleted here is never relayed, and one claimed first is not deleted. Its owner then
   * hears of neither the spending nor its cancellation, as the network heard the authorisation declined;
   * once claimed, "spent" is followed by "cancelled". Found through the pending index by its time (written
   * in the authorisation's statement, so at its created_at, which keeps milliseconds). Asked by whichever
   * marks the row reversed first: the approval's own attempt (markedReversed) or the reversal's record
   * (reverse). Whether it was.
   */
  private async untoldApprovalWithdrawn(m: EntityManager, id: string): Promise<boolean> {
    const [, deleted] = (await m.query(
      `DELETE FROM cards.outbox o USING cards.authorisations a
        WHERE a.id = $1::uuid AND o.published_at IS NULL
          AND o.created_at BETWEEN a.created_at - interval '1 millisecond' AND a.created_at + interval '1 millisecond'
          AND o.attempts = 0 AND o.next_attempt_at = o.created_at
          AND o.name = 'card.authorised' AND o.payload->>'authorisation_id' = $1::text`,
      [id],
    )) as [unknown, number];
    return deleted > 0;
  }

  /**
   * The card, amount and currency a replayed authorisation was decided on: the ledger replays the first
   * attempt's decision, and a retry that differs from it (another card under the same network id, another
   * amount after a crash) is recorded as what the ledger holds, not as what the retry said.
   */
  private async asFirstDecided(holdId: string, asked: Facts): Promise<Facts> {
    const hold = await this.ledger.getHold(holdId);
    if (!hold) return asked;
    const card = hold.card_id === asked.card.id ? asked.card : await this.directory.byId(hold.card_id);
    return { card: card ?? asked.card, amount: jsonAmount(hold.amount), currency: hold.currency };
  }

  /**
   * The card's own decline, if any (cardDecline), its data checked only when admitted: wrong card details
   * are limited to CARD_DATA_FAILURE_LIMIT a day, the one that reaches it freezing the card (its owner is
   * told, and unfreezes it), and guesses sent in parallel wait their turn (CardDirectory.admitDataCheck).
   * One refused a turn is declined card_frozen (the limit is reached) or, after waiting in a flood of
   * them, invalid_card; neither is counted, as their data was not looked at. An online (card-not-present)
   * payment sent without its CVC is declined invalid_cvc before any of that: the CVC is what proves the
   * payer holds the card when it is not there, and leaving it out is no guess to count.
   */
  private async checkedDecline(
    card: CardRecord,
    body: AuthorisationRequestDto,
    category: string,
  ): Promise<{ reason: CardDeclineReason | null; froze: boolean }> {
    // The state first: a frozen, blocked or cancelled card does not tell whether the data sent was right.
    const state = this.directory.stateDecline(card);
    if (state) return { reason: state, froze: false };
    if (body.channel === 'online' && (body.cvc === undefined || body.cvc === null)) {
      return { reason: 'invalid_cvc', froze: false };
    }
    const admission = await this.directory.admitDataCheck(card, body.network_transaction_id);
    if (admission === 'frozen') return { reason: 'card_frozen', froze: false };
    if (admission === 'busy') return { reason: 'invalid_card', froze: false };
    let reason: CardDeclineReason | null;
    try {
      reason = this.cardDecline(card, body, category);
    } catch (err) {
      // Not decided: the check leaves the ones under way, counting nothing.
      await this.directory.settleDataCheck(card, body.network_transaction_id, false);
      throw err;
    }
    const failed = reason === 'invalid_card' || reason === 'invalid_cvc';
    const froze = await this.directory.settleDataCheck(card, body.network_transaction_id, failed);
    return { reason, froze };
  }

  /** The card's own reasons to decline, in the order a card processor checks them. */
  private cardDecline(
    card: CardRecord,
    body: AuthorisationRequestDto,
    category: string,
  ): CardDeclineReason | null {
    // The state first: a frozen, blocked or cancelled card does not tell whether the data sent was right.
    const state = this.directory.stateDecline(card);
    if (state) return state;
    const data = this.directory.checkCardData(card, body.pan, body);
    if (data) return data;
    return this.usageDecline(card, body, category);
  }

  /** What the card's own settings decline this payment for: its channel, category, currency, amount. */
  private usageDecline(
    card: CardRecord,
    body: AuthorisationRequestDto,
    category: string,
  ): CardDeclineReason | null {
    if (!CHANNEL_ALLOWED[body.channel](card.limits)) return 'channel_disabled';
    if ((card.limits.blocked_categories as string[]).includes(category)) return 'category_blocked';
    if (body.currency !== card.currency) return 'currency_not_supported';
    const perTransaction = card.limits.per_transaction;
    if (body.amount > this.config.maxAmount) return 'limit_exceeded';
    if (perTransaction !== null && BigInt(body.amount) > perTransaction) return 'limit_exceeded';
    return null;
  }

  /**
   * Records the decision with its event, in one statement; false when another attempt recorded one first,
   * or when the decision is an approval and its card is no longer live or no longer has the limits it was
   * decided under (nothing changed). The approval takes the card's row FOR SHARE, so a freeze,
   * cancellation, staff block or change of limits either commits first and stops it, or waits until it is
   * recorded: once one has answered, no approval is recorded after it under what it changed.
   */
  private async record(
    id: string,
    body: AuthorisationRequestDto,
    { card, amount, currency }: Facts,
    category: string,
    decision: Decision,
  ): Promise<boolean> {
    const event = {
      authorisation_id: id,
      card_id: card.id,
      last4: card.last4,
      owner_id: card.owner_id,
      account_id: card.account_id,
      amount,
      currency,
      merchant_name: body.merchant.name,
      merchant_category_code: body.merchant.category_code,
      category,
      channel: body.channel,
    };
    return this.outbox.addIfChanged(
      this.dataSource.manager,
      'cards',
      `INSERT INTO cards.authorisations (id, card_id, owner_id, account_id, network_transaction_id, amount,
                                         currency, merchant, category, channel, status, decline_reason)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
        WHERE $11 = 'declined'
           OR EXISTS (SELECT 1 FROM cards.cards c
                       WHERE c.id = $2 AND c.status = 'active' AND NOT c.blocked_by_staff
                         AND c.limit_per_transaction IS NOT DISTINCT FROM $13
                         AND c.limit_daily IS NOT DISTINCT FROM $14 AND c.limit_monthly IS NOT DISTINCT FROM $15
                         AND c.online_allowed = $16 AND c.contactless_allowed = $17 AND c.atm_allowed = $18
                         AND c.blocked_categories = $19::text[] FOR SHARE)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        id,
        card.id,
        card.owner_id,
        card.account_id,
        body.network_transaction_id,
        amount,
        // What the network asked for: a currency we do not hold is declined, and kept as asked.
        currency,
        JSON.stringify(merchantOf(body.merchant)),
        category,
        body.channel,
        decision.approved ? 'pending' : 'declined',
        decision.approved ? null : decision.reason,
        card.limits.per_transaction?.toString() ?? null,
        card.limits.daily?.toString() ?? null,
        card.limits.monthly?.toString() ?? null,
        card.limits.online,
        card.limits.contactless,
        card.limits.atm,
        card.limits.blocked_categories,
      ],
      decision.approved
        ? { name: 'card.authorised', input: event }
        : { name: 'card.declined', input: { ...event, decline_reason: decision.reason } },
    );
  }

  /**
   * The answer to a repeat of a recorded authorisation (a retry, or a copy that lost the race to record):
   * its first answer, unless the network reversed it in full before that approval was recorded and it
   * still reads pending (the reversal looked for the row before it was there, and the attempt that
   * recorded it has yet to look for the reversal, or stopped first): its hold is given back and it is
   * declined `reversed` here too, as that attempt answers, never approved with nothing held.
   */
  private async repeatAnswer(first: AuthorisationRow, holdId: string): Promise<AuthorisationAnswerDto> {
    if (
      first.id === holdId &&
      first.status === 'pending' &&
      (await this.reversedEarly(first.network_transaction_id))
    ) {
      await this.giveBackReversedEarly(holdId);
      return this.declinedReversed();
    }
    return this.firstAnswer(first, holdId);
  }

  /**
   * The answer recorded under a network id: an authorisation's (its row's id is the hold's, derived from
   * that id), or 422 when the id is a forced clearing's, which would otherwise have been answered as an
   * approval of that clearing's row, its hold left held and unreachable by any reversal.
   */
  private firstAnswer(first: AuthorisationRow, holdId: string): AuthorisationAnswerDto {
    if (first.id === holdId) return answerOf(first);
    throw AppError.unprocessable(
      'idempotency_key_reused',
      'This network_transaction_id is a forced clearing’s, not an authorisation’s',
      [{ field: 'network_transaction_id', message: 'already used by a forced clearing' }],
    );
  }

  /**
   * Posts a clearing through the ledger, which releases the authorisation's hold in the same
   * transaction; a clearing without one is a forced post, for the card given by pan. One posting per
   * network id: a retry gets the first answer.
   */
  async clear(body: ClearingRequestDto): Promise<ClearingAnswerDto> {
    return this.once(
      'clearing',
      body.network_transaction_id,
      this.fingerprint('clearing', body),
      async () => {
        // Owed or not, no single movement is above MAX_AMOUNT (an authorisation above it was declined).
        assertAmountWithin(body.amount, this.config.maxAmount);
        const target = await this.clearingTarget(body);
        const result = await this.ledger.clearCard({
          network_transaction_id: body.network_transaction_id,
          hold_id: target.authorisation?.id ?? null,
          card_id: target.card.id,
          account_id: target.card.account_id,
          owner_id: target.card.owner_id,
          amount: BigInt(body.amount),
          currency: body.currency as Currency,
          merchant_name: target.merchant.name,
          category: target.category,
        });
        if ('refused' in result) throw clearingRefusal(result.refused);
        const answer: ClearingAnswerDto = {
          cleared: true,
          authorisation_id: target.authorisation?.id ?? null,
          transaction_id: result.transaction_id,
          amount: body.amount,
          currency: body.currency,
          forced: result.forced,
        };
        return {
          answer,
          record: (m) =>
            this.recordClearing(m, target, {
              amount: body.amount,
              currency: body.currency,
              network_transaction_id: body.network_transaction_id,
              transaction_id: result.transaction_id,
              forced: result.forced,
            }),
        };
      },
    );
  }

  /**
   * The cards side of a clearing the ledger posted: the authorisation marked cleared (or a forced post's
   * row made) and card.cleared in the outbox, for an authorisation only when its row changes, so that a
   * retry, or the sweep's reconcile pass after the network's own retry, tells the customer once.
   */
  private async recordClearing(
    m: EntityManager,
    target: ClearingTarget,
    c: {
      amount: number;
      currency: string;
      network_transaction_id: string;
      transaction_id: string;
      forced: boolean;
    },
  ): Promise<boolean> {
    let changed: { released_amount: string | null }[];
    if (target.authorisation) {
      // An UPDATE answers [rows, count] through TypeORM.
      [changed] = (await m.query(
        `UPDATE cards.authorisations SET status = 'cleared', cleared_amount = $2, transaction_id = $3,
                forced = $4, updated_at = now()
          WHERE id = $1 AND transaction_id IS DISTINCT FROM $3 RETURNING released_amount`,
        [target.authorisation.id, c.amount, c.transaction_id, c.forced],
      )) as [{ released_amount: string }[], number];
    } else {
      // A forced post is on the card's list too, as what it is: cleared, forced, no channel (nothing
      // was authorised), under the clearing's network id.
      changed = (await m.query(
        `INSERT INTO cards.authorisations (id, card_id, owner_id, account_id, network_transaction_id, amount,
                                           currency, merchant, category, channel, status, cleared_amount,
                                           transaction_id, forced)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 'cleared', $6, $10, true)
         ON CONFLICT DO NOTHING RETURNING NULL AS released_amount`,
        [
          randomUUID(),
          target.card.id,
          target.card.owner_id,
          target.card.account_id,
          c.network_transaction_id,
          c.amount,
          c.currency,
          JSON.stringify(target.merchant),
          target.category,
          c.transaction_id,
        ],
      )) as { released_amount: null }[];
    }
    // An authorisation already marked with this clearing was told of it. A forced post's row may be refused
    // (its network id is an authorisation's too) while the money moved all the same: it is told anyway,
    // once, as once() records a clearing once.
    if (changed.length === 0 && target.authorisation) return false;
    await this.outbox.add(
      m,
      'cards',
      'card.cleared',
      {
        authorisation_id: target.authorisation?.id ?? null,
        authorised_amount: target.authorisation ? jsonAmount(target.authorisation.amount) : null,
        // What its owner was told came back before (card.released), for the clearing's notice to start from.
        released_amount: target.authorisation ? jsonAmount(changed[0].released_amount ?? 0) : null,
        card_id: target.card.id,
        last4: target.last4,
        owner_id: target.card.owner_id,
        account_id: target.card.account_id,
        amount: c.amount,
        currency: c.currency,
        merchant_name: target.merchant.name,
        merchant_category_code: target.merchant.category_code,
        category: target.category,
        transaction_id: c.transaction_id,
        forced: c.forced,
      },
      { notify: false },
    );
    return true;
  }

  /**
   * A clearing the ledger posted for a pending authorisation whose record here was lost (a crash or a
   * lost reply, and no retry from the network): recorded as its clearing would have, from the ledger's
   * entry. For the hold-expiry sweep's reconcile pass; false when there was nothing to record.
   */
  async recordLostClearing(
    id: string,
    entry: { transaction_id: string; amount: number; forced: boolean },
  ): Promise<boolean> {
    const authorisation = await this.authorisationById(id);
    if (authorisation?.status !== 'pending') return false;
    const target = targetOf(authorisation);
    const recorded = await this.dataSource.transaction((m) =>
      this.recordClearing(m, target, {
        ...entry,
        currency: authorisation.currency,
        network_transaction_id: authorisation.network_transaction_id,
      }),
    );
    if (recorded) this.relay.kickSoon();
    return recorded;
  }

  /**
   * A message that names its authorisation and also carries a card number (networks may send both) must
   * name that authorisation's card: another card's number is a contradiction, refused (422 card_mismatch
   * naming pan) rather than ignored.
   */
  private async assertSameCard(authorisation: AuthorisationRow, pan: string | undefined): Promise<void> {
    if (pan === undefined) return;
    const card = await this.directory.lookupByPan(pan);
    if (card?.id === authorisation.card_id) return;
    throw AppError.unprocessable('card_mismatch', 'The card number is not the authorisation’s card', [
      { field: 'pan', message: 'not the card of authorisation_id' },
    ]);
  }

  /** What a clearing clears: its authorisation's card and merchant, or (a forced post) the card by number. */
  private async clearingTarget(body: ClearingRequestDto): Promise<ClearingTarget> {
    if (body.authorisation_id) {
      const authorisation = await this.authorisationById(body.authorisation_id);
      if (!authorisation) throw notFound('authorisation_id', 'Authorisation');
      if (authorisation.status === 'declined') {
        throw AppError.conflict(
          'authorisation_declined',
          'That authorisation was declined: nothing to clear',
        );
      }
      await this.assertSameCard(authorisation, body.pan);
      if (authorisation.currency !== body.currency) {
        throw AppError.unprocessable(
          'currency_mismatch',
          'The clearing is not in the authorisation’s currency',
          [{ field: 'currency', message: `the authorisation is in ${authorisation.currency}` }],
        );
      }
      return targetOf(authorisation);
    }
    if (!body.pan || !body.merchant) {
      throw AppError.badRequest('validation_failed', 'Invalid request: authorisation_id', [
        {
          field: 'authorisation_id',
          message: 'give authorisation_id, or pan and merchant for a forced post',
        },
      ]);
    }
    const card = await this.directory.lookupByPan(body.pan);
    if (!card) throw notFound('pan', 'Card');
    // The other way round from firstAnswer: a forced post under an authorisation's network id would debit
    // the account beside that authorisation's hold, and its own row (refused by the id) would leave the
    // debit off the card's list. The row of a copy of this forced post (its id is not the hold's) is not
    // one: that copy's answer is replayed (once). A forced post racing the authorisation of its id is not
    // caught here.
    const first = await this.authorisation(body.network_transaction_id);
    if (first && first.id === holdIdOf(body.network_transaction_id)) {
      throw AppError.unprocessable(
        'idempotency_key_reused',
        'This network_transaction_id is an authorisation’s: clear it with its authorisation_id',
        [{ field: 'network_transaction_id', message: 'already used by an authorisation' }],
      );
    }
    return {
      authorisation: null,
      card,
      last4: body.pan.slice(-4),
      merchant: merchantOf(body.merchant),
      category: this.directory.categoryOf(body.merchant.category_code),
    };
  }

  /**
   * Gives back all or part of an authorisation's hold. With a network id, a retry gets the first answer;
   * without one only a full reversal is taken (repeating it gives back nothing more). A partial one needs
   * the id: otherwise every retry, or a signed request replayed within the signature's five minutes,
   * would give back the amount again, until nothing was held for the clearing still to come.
   */
  async reverse(body: ReversalRequestDto): Promise<ReversalAnswerDto> {
    if ((body.authorisation_id === undefined) === (body.original_network_transaction_id === undefined)) {
      const field =
        body.authorisation_id === undefined ? 'authorisation_id' : 'original_network_transaction_id';
      throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
        { field, message: 'give authorisation_id or original_network_transaction_id, one of them' },
      ]);
    }
    if (body.amount !== undefined && body.network_transaction_id === undefined) {
      throw AppError.badRequest('validation_failed', 'Invalid request: network_transaction_id', [
        {
          field: 'network_transaction_id',
          message:
            'a partial reversal (with amount) needs network_transaction_id, so a retry gives back once',
        },
      ]);
    }
    const run = async () => {
      const original = body.original_network_transaction_id;
      const holdId = original === undefined ? body.authorisation_id! : holdIdOf(original);
      const authorisation = await this.authorisationById(holdId);
      if (!authorisation && original === undefined) throw notFound('authorisation_id', 'Authorisation');
      // In full, by the network's id, of an authorisation with no decision recorded (being decided now,
      // or not arrived yet): the id is written down first, so that an approval recorded after this
      // gives its hold back (authorise), and the row is looked for after the release, below.
      const early = !authorisation && body.amount === undefined;
      if (early) await this.reversedBeforeAnswer(original!);
      // As a clearing or a refund of it is answered: nothing was held.
      if (authorisation?.status === 'declined') {
        throw AppError.conflict('authorisation_declined', 'That authorisation was declined: nothing is held');
      }
      // A pending one's release is written down while under way, and struck off with this reversal's record
      // (below): one that timed out or whose app stopped meanwhile is brought in line by the hold expiry
      // sweep if the ledger released, instead of reading pending for a hold's life.
      if (authorisation?.status === 'pending') {
        await this.dataSource.query(
          `INSERT INTO cards.reversals_in_flight (authorisation_id) VALUES ($1)
           ON CONFLICT (authorisation_id) DO UPDATE SET next_check_at = EXCLUDED.next_check_at`,
          [holdId],
        );
      }
      // The ledger gives back once per network id: two copies of one reversal running at once, or a
      // retry after a crash or a lost reply, both find nothing stored here yet.
      let result: HoldReleaseResult;
      try {
        result = await this.ledger.releaseHold({
          hold_id: holdId,
          amount: body.amount === undefined ? null : BigInt(body.amount),
          reason: 'reversed',
          network_transaction_id: body.network_transaction_id ?? null,
        });
      } catch (err) {
        // Nothing recorded here and no hold in the ledger: no authorisation had that id.
        if (!authorisation && err instanceof AppError && err.status === 404) {
          throw notFound('original_network_transaction_id', 'Authorisation');
        }
        throw err;
      }
      // A partial reversal by the network's id that gave back all that was held is written down too, now
      // (before the row is looked for, below), as a full one was before.
      if (!authorisation && !early && result.status === 'reversed')
        await this.reversedBeforeAnswer(original!);
      const status = result.status === 'active' ? 'pending' : result.status;
      const answer: ReversalAnswerDto = {
        authorisation_id: holdId,
        status,
        released: jsonAmount(result.released),
        remaining: jsonAmount(result.remaining),
      };
      if (!authorisation) {
        // An authorisation no decision was recorded for when this began: the network timed out on it (in
        // split mode the ledger may place its hold after this app gave up on the call, and after this found
        // none: HoldExpiry.releaseLateHolds gives that one back), or its approval
        // is being recorded now. Its hold is given back. An approval recorded by now is marked below as
        // any other (one recorded later finds the id in early_reversals when all was given back; after a
        // part, it reads pending with all of it held until its hold ends); with none, the customer sees
        // no payment.
        this.logger.warn(
          { authorisation_id: holdId, released: answer.released },
          'card hold of an authorisation with no recorded answer reversed by the network',
        );
      }
      return {
        answer,
        record: async (m: EntityManager) => {
          await m.query(`DELETE FROM cards.reversals_in_flight WHERE authorisation_id = $1`, [holdId]);
          // A hold the ledger says is cleared is marked so by its clearing, with the entry (one may be
          // in flight, or crashed before recording it and due to be retried by the network): not from here.
          // One reversed in full released all of it, also when this answer gave back nothing (a retry
          // after the first reversal's reply was lost); so did one the ledger had expired before this came
          // (the sweep's mark here not yet made: it marks pending rows only; helper-157). One still held in
          // part has released what its hold has given back in all, not this answer's part added: the ledger
          // replays a part to a retry after the hold expiry sweep recorded it (a reply lost), and two parts
          // may record out of order. Its owner is told what this gave back that no other path told before
          // (ReleaseNotices). An approval recorded after this began (none was when it looked), which this
          // marks reversed before the approval's own attempt does (giveBackReversedEarly), is taken back
          // untold as that attempt would have (helper-163 L2): the network reversed it before our answer.
          const untold = !authorisation && status === 'reversed';
          await this.notices.record(
            holdId,
            `UPDATE cards.authorisations
                SET status = CASE WHEN status = 'pending' AND $2 <> 'cleared' THEN $2 ELSE status END,
                    released_amount = CASE
                      WHEN $2 IN ('reversed', 'expired') AND status IN ('pending', $2) THEN amount
                      WHEN $2 = 'pending' THEN GREATEST(released_amount, amount - $4)
                      ELSE released_amount + $3 END,
                    updated_at = now() WHERE id = $1 RETURNING status, released_amount`,
            [status, result.released.toString(), result.remaining.toString()],
            m,
            untold ? (t) => this.untoldApprovalWithdrawn(t, holdId) : undefined,
          );
        },
      };
    };
    if (body.network_transaction_id) {
      return this.once('reversal', body.network_transaction_id, this.fingerprint('reversal', body), run);
    }
    const { answer, record } = await run();
    await this.dataSource.transaction(record);
    this.relay.kickSoon(); // a card.released it wrote (once() kicks for a reversal with an id)
    return answer;
  }

  /** Credits a merchant's refund to the card's account; one credit per network id. */
  async refund(body: RefundRequestDto): Promise<RefundAnswerDto> {
    return this.once('refund', body.network_transaction_id, this.fingerprint('refund', body), async () => {
      assertAmountWithin(body.amount, this.config.maxAmount);
      let card: CardParty | null;
      let merchant: NetworkMerchantDto | undefined = body.merchant;
      if (body.authorisation_id) {
        const authorisation = await this.authorisationById(body.authorisation_id);
        if (!authorisation) throw notFound('authorisation_id', 'Authorisation');
        if (authorisation.status === 'declined') {
          throw AppError.conflict(
            'authorisation_declined',
            'That authorisation was declined: nothing was paid to refund',
          );
        }
        await this.assertSameCard(authorisation, body.pan);
        card = cardOf(authorisation);
        merchant ??= authorisation.merchant;
      } else if (body.pan) {
        card = await this.directory.lookupByPan(body.pan);
        if (!card) throw notFound('pan', 'Card');
      } else {
        throw AppError.badRequest('validation_failed', 'Invalid request: authorisation_id', [
          { field: 'authorisation_id', message: 'give authorisation_id or pan' },
        ]);
      }
      if (!merchant) {
        throw AppError.badRequest('validation_failed', 'Invalid request: merchant', [
          { field: 'merchant', message: 'merchant is required with pan' },
        ]);
      }
      const result = await this.ledger.refundCard({
        network_transaction_id: body.network_transaction_id,
        card_id: card.id,
        account_id: card.account_id,
        owner_id: card.owner_id,
        amount: BigInt(body.amount),
        currency: body.currency as Currency,
        merchant_name: merchant.name,
        category: this.directory.categoryOf(merchant.category_code),
        // Checked against the payment it refunds (not more than it cleared, not after staff reversed it).
        hold_id: body.authorisation_id ?? null,
      });
      if ('refused' in result) throw clearingRefusal(result.refused);
      const answer: RefundAnswerDto = {
        refunded: true,
        transaction_id: result.transaction_id,
        amount: body.amount,
        currency: body.currency,
      };
      return { answer, record: async () => undefined };
    });
  }

  /**
   * Runs a clearing, reversal or refund once per (kind, network id): a repeat with the same request gets
   * the answer stored the first time; with another request, 422. The answer and the module's own record
   * of it commit together; the ledger's side is idempotent on its own (its key is the network id: the
   * clearing's and the refund's entry, the reversal's hold_releases row), so copies running at once move
   * money once and a crash between the two is completed by the retry.
   */
  private async once<A extends object>(
    kind: 'clearing' | 'reversal' | 'refund',
    networkId: string,
    hash: string,
    run: () => Promise<{ answer: A; record: (m: EntityManager) => Promise<unknown> }>,
  ): Promise<A> {
    const replay = async () => {
      const [first] = (await this.dataSource.query(
        `SELECT request_hash, response FROM cards.network_messages WHERE kind = $1 AND network_transaction_id = $2`,
        [kind, networkId],
      )) as { request_hash: string; response: A }[];
      if (first && first.request_hash !== hash) {
        throw AppError.unprocessable(
          'idempotency_key_reused',
          'This network transaction id was used for a different request',
          [{ field: 'network_transaction_id', message: 'use a new id for a different request' }],
        );
      }
      return first?.response;
    };
    const before = await replay();
    if (before) return before;
    const { answer, record } = await run();
    const stored = await this.dataSource.transaction(async (m) => {
      const [inserted] = (await m.query(
        `INSERT INTO cards.network_messages (kind, network_transaction_id, request_hash, response)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING kind`,
        [kind, networkId, hash, JSON.stringify(answer)],
      )) as unknown[];
      if (!inserted) return false;
      await record(m);
      return true;
    });
    if (!stored) return (await replay())!;
    this.relay.kickSoon();
    return answer;
  }

  /** A request's fingerprint, with the card number replaced by its keyed hash (a plain hash of it could be reversed). */
  private fingerprint(kind: string, body: object): string {
    const { pan, ...rest } = body as { pan?: string };
    return requestFingerprint(`card-network ${kind}`, {
      ...rest,
      pan: pan === undefined ? null : this.keys.hash(pan).toString('hex'),
    });
  }

  private authorisation(networkId: string): Promise<AuthorisationRow | undefined> {
    return this.authorisationWhere('a.network_transaction_id = $1', networkId);
  }

  private authorisationById(id: string): Promise<AuthorisationRow | undefined> {
    return this.authorisationWhere('a.id = $1', id);
  }

  private async authorisationWhere(where: string, value: string): Promise<AuthorisationRow | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT ${AUTHORISATION_COLUMNS} FROM ${AUTHORISATIONS} WHERE ${where}`,
      [value],
    )) as AuthorisationRow[];
    return row;
  }
}

/** Whose card and account a message moves money for: what the ledger needs. */
type CardParty = Pick<CardRecord, 'id' | 'owner_id' | 'account_id'>;

const cardOf = (a: AuthorisationRow): CardParty => ({
  id: a.card_id,
  owner_id: a.owner_id,
  account_id: a.account_id,
});

/**
 * A recorded authorisation's answer to a retry: its decision, unless the network has reversed all of it
 * since: declined `reversed`, as nothing is held for it (a clearing that still comes is posted, as ever).
 * One whose hold expired stays approved: the network voided nothing, and its clearing, however late, is
 * owed and posted.
 */
function answerOf(row: AuthorisationRow): AuthorisationAnswerDto {
  if (row.status === 'declined') return { approved: false, decline_reason: toNetwork(row.decline_reason!) };
  if (row.status === 'reversed') return { approved: false, decline_reason: 'reversed' };
  return { approved: true, authorisation_id: row.id };
}

/**
 * The ledger declines a card payment `card_blocked` when staff froze the card's account (its card checks
 * are ours, and passed): recorded, evented and told to its owner as `account_frozen`, since the card
 * itself is not blocked (before 2026-12-06 the owner was told "your card is blocked" of a card showing
 * active, with nothing to unblock).
 */
function declinedByLedger(reason: CardHoldDeclineReason): CardDeclineReason {
  return reason === 'card_blocked' ? 'account_frozen' : reason;
}

/**
 * What the card network is told: not that the bank froze the account (a third party is never told of a
 * freeze, as payments into a frozen account are accepted); the card is blocked to it, as before.
 */
function toNetwork(reason: CardDeclineReason): NetworkDeclineReason {
  return reason === 'account_frozen' ? 'card_blocked' : reason;
}

/** What a clearing clears: its authorisation (null for a forced post), card and merchant. */
interface ClearingTarget {
  authorisation: AuthorisationRow | null;
  card: CardParty;
  last4: string;
  merchant: AuthorisationRow['merchant'];
  category: string;
}

function targetOf(authorisation: AuthorisationRow): ClearingTarget {
  return {
    authorisation,
    card: cardOf(authorisation),
    last4: authorisation.last4,
    merchant: authorisation.merchant,
    category: authorisation.category,
  };
}

function merchantOf(m: NetworkMerchantDto) {
  return { name: m.name, category_code: m.category_code, city: m.city, country: m.country };
}

function clearingRefusal(
  reason:
    | 'account_closed'
    | 'account_not_found'
    | 'currency_mismatch'
    | 'hold_not_found'
    | 'already_reversed'
    | 'refund_exceeds_payment',
): AppError {
  switch (reason) {
    case 'already_reversed':
      return AppError.conflict(
        'already_reversed',
        'The bank reversed that payment (a dispute): its customer has the money back',
      );
    case 'refund_exceeds_payment':
      return AppError.unprocessable(
        'refund_exceeds_payment',
        'The payment’s refunds would come to more than it cleared',
        [{ field: 'amount', message: 'at most what the payment cleared, less its earlier refunds' }],
      );
    case 'account_closed':
      return AppError.conflict('account_closed', 'The card’s account is closed');
    case 'account_not_found':
      return new AppError(404, 'not_found', 'The card’s account was not found');
    case 'currency_mismatch':
      return AppError.unprocessable('currency_mismatch', 'The currency is not the card account’s', [
        { field: 'currency', message: 'the card’s account holds another currency' },
      ]);
    case 'hold_not_found':
      return AppError.conflict('already_cleared', 'That authorisation was already cleared');
  }
}
