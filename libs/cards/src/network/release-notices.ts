import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { jsonAmount, OutboxRelay, OutboxService } from '@protobank/platform';
import { DataSource, type EntityManager } from 'typeorm';
import { AUTHORISATION_COLUMNS, AUTHORISATIONS, type AuthorisationRow } from './authorisation-row';

/** The statuses in which what an authorisation gave back is the customer's again (not a clearing's). */
const RELEASED = { pending: 'reversed', reversed: 'reversed', expired: 'expired' } as const;

/**
 * Every change of what an approved authorisation has given back (its released_amount): a reversal's
 * record, an approval given back for its early reversal, the queued release of one, the hold expiry
 * sweep's expiries and its passes that bring a row in line with its hold. Each runs its UPDATE here, the
 * row locked first, and its owner is told of what came back (card.released) in the same transaction, by
 * how much the row's released_amount rose: once per change, so a retry or a pass that finds the row
 * already in line tells nothing, and the one event says the part that is new whichever path records it
 * first.
 */
@Injectable()
export class ReleaseNotices {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Runs `update`, an UPDATE of authorisation `id` ($1; `params` are $2 on) that returns its `status` and
   * `released_amount`, in `m`'s transaction (or one of its own), and writes card.released when it gave
   * back more while the authorisation is pending, reversed or expired, unless `withdrawn` (asked then, in
   * the same transaction, if nothing was released of it before) takes back its approval's card.authorised
   * before anyone was told of it: then nothing was spent as far as its owner knows, and nothing is told.
   * Whether it changed the row.
   */
  async record(
    id: string,
    update: string,
    params: readonly unknown[],
    m?: EntityManager,
    withdrawn?: (m: EntityManager) => Promise<boolean>,
  ): Promise<boolean> {
    if (!m) {
      const changed = await this.dataSource.transaction((t) => this.record(id, update, params, t, withdrawn));
      // After the commit, as every writer of cards' outbox wakes its relay (a NOTIFY per event would
      // serialise committing transactions); with `m`, the caller does once its transaction commits.
      if (changed) this.relay.kickSoon();
      return changed;
    }
    const [before] = (await m.query(
      `SELECT ${AUTHORISATION_COLUMNS}, a.released_amount FROM ${AUTHORISATIONS}
        WHERE a.id = $1 FOR UPDATE OF a`,
      [id],
    )) as (AuthorisationRow & { released_amount: string })[];
    if (!before) return false;
    // An UPDATE answers [rows, count] through TypeORM.
    const [[after]] = (await m.query(update, [id, ...params])) as [
      { status: string; released_amount: string }[],
      number,
    ];
    if (!after) return false;
    const released = BigInt(after.released_amount) - BigInt(before.released_amount);
    const reason = RELEASED[after.status as keyof typeof RELEASED];
    // Taken back only while nothing was told released of it: two partial reversals that both began before
    // the approval was recorded tell their first part, and the second then may not take back "spent"
    // (helper-165 L1).
    const noneReleasedBefore = BigInt(before.released_amount) === 0n;
    if (
      released > 0n &&
      reason &&
      before.channel !== null &&
      !(noneReleasedBefore && (await withdrawn?.(m)))
    ) {
      await this.outbox.add(
        m,
        'cards',
        'card.released',
        {
          authorisation_id: id,
          card_id: before.card_id,
          last4: before.last4,
          owner_id: before.owner_id,
          account_id: before.account_id,
          amount: jsonAmount(before.amount),
          currency: before.currency,
          merchant_name: before.merchant.name,
          merchant_category_code: before.merchant.category_code,
          category: before.category,
          channel: before.channel,
          released: jsonAmount(released),
          remaining: jsonAmount(BigInt(before.amount) - BigInt(after.released_amount)),
          reason,
        },
        { notify: false },
      );
    }
    return true;
  }
}
