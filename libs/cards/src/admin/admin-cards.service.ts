import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type StaffActor, type UsersApi } from '@protobank/contracts';
import {
  AppError,
  assertMayActOnOwner,
  assertMaySeeOwner,
  decodeCursor,
  encodeCursor,
  LOGGER,
  OutboxService,
  pageOf,
  StaffGate,
  staffActor,
  type Caller,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { adminCardView, CARD_COLUMNS, type CardRow } from '../cards/card-rows';
import { lockCardIssue } from '../cards/cards.service';
import type { AdminCardDto, AdminCardListDto } from '../cards/card.dto';

/** A block's or an unblock's decision on the card under its lock: what to set, and how to audit it. */
type Decide = (
  card: CardRow,
  actor: StaffActor,
) => { action: 'card_blocked' | 'card_unblocked'; set: string; blocked: boolean };

/**
 * Staff on cards: read any customer's (masked; a colleague's take an admin), block and unblock. A block is a flag beside the customer's
 * own status, so it outranks their unfreeze and survives their freeze and unfreeze; each change is
 * audited as staff_action.recorded from the cards outbox in its own transaction.
 */
@Injectable()
export class AdminCardsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly gate: StaffGate,
  ) {}

  async list(
    caller: Caller,
    ownerId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<AdminCardListDto> {
    const after = cursor ? decodeCursor(cursor) : null; // a bad cursor (400) files no read
    this.refuseOwn(caller.user_id, ownerId, null, 'read');
    await assertMaySeeOwner(caller, ownerId, this.users, {
      resource_type: 'user',
      resource_id: ownerId,
      viewed: 'cards',
    });
    const rows = (await this.dataSource.query(
      `SELECT ${CARD_COLUMNS} FROM cards.cards
        WHERE owner_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $4`,
      [ownerId, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as CardRow[];
    return pageOf(rows, limit, adminCardView, (last) => encodeCursor(last));
  }

  async get(caller: Caller, id: string): Promise<AdminCardDto> {
    const [row] = (await this.dataSource.query(`SELECT ${CARD_COLUMNS} FROM cards.cards WHERE id = $1`, [
      id,
    ])) as CardRow[];
    if (!row) throw AppError.notFound('card', 'id');
    this.refuseOwn(caller.user_id, row.owner_id, id, 'read');
    await assertMaySeeOwner(caller, row.owner_id, this.users, {
      resource_type: 'card',
      resource_id: id,
      viewed: 'card',
    });
    return adminCardView(row);
  }

  /**
   * Staff never use these routes on their own cards (403 own_card, logged): not to change them, nor to read
   * them. The staff view carries the bank's notes on a card (who blocked it and why: "fraud
   * investigation"), which its owner must not read when the owner is the one investigated (helper-160);
   * their own cards are at GET /cards, as any customer's.
   */
  private refuseOwn(userId: string, ownerId: string, cardId: string | null, what: 'read' | 'change'): void {
    if (ownerId !== userId) return;
    this.logger.warn(
      { security_event: 'own_card_refused', user_id: userId, card_id: cardId },
      `staff ${what} of own card refused`,
    );
    throw new AppError(
      403,
      'own_card',
      what === 'read'
        ? 'Staff do not read their own cards through the staff routes: use GET /cards'
        : 'Staff cannot change their own cards',
    );
  }

  /** 404 unknown; 403 own_card; 409 card_cancelled, already_blocked. */
  block(id: string, caller: Caller, reason: string): Promise<AdminCardDto> {
    return this.change(id, caller, reason, (card) => {
      if (card.status === 'cancelled') throw AppError.conflict('card_cancelled', 'The card is cancelled');
      if (card.blocked_by_staff) throw AppError.conflict('already_blocked', 'The card is already blocked');
      return {
        action: 'card_blocked',
        set: `blocked_by_staff = true, blocked_by = $2, blocked_reason = $3, blocked_at = now()`,
        blocked: true,
      };
    });
  }

  /**
   * 404 unknown; 403 own_card; 409 not_blocked; 403 blocked_by_other when a staff member (not an admin)
   * lifts a block someone else made, as with account freezes. A cancelled card's block can be lifted too:
   * while any card of theirs is blocked, its owner is issued no new card.
   */
  unblock(id: string, caller: Caller, reason: string): Promise<AdminCardDto> {
    return this.change(id, caller, reason, (card, actor) => {
      if (!card.blocked_by_staff) throw AppError.conflict('not_blocked', 'The card is not blocked');
      if (actor.role !== 'admin' && card.blocked_by !== actor.user_id) {
        throw new AppError(
          403,
          'blocked_by_other',
          'Only the staff member who blocked the card, or an admin, can lift it',
        );
      }
      return {
        action: 'card_unblocked',
        set: `blocked_by_staff = false, blocked_by = NULL, blocked_reason = NULL, blocked_at = NULL`,
        blocked: false,
      };
    });
  }

  private async change(id: string, caller: Caller, reason: string, decide: Decide): Promise<AdminCardDto> {
    const actor = staffActor(caller);
    // No change of the actor's or the owner's role or access lands while this runs (StaffGate).
    return this.gate.act(caller, async (pass) => {
      // A card's owner never changes: read once, outside the transaction (the role is users' to tell).
      const [owner] = (await this.dataSource.query(`SELECT owner_id FROM cards.cards WHERE id = $1`, [
        id,
      ])) as { owner_id: string }[];
      if (owner && owner.owner_id !== actor.user_id) {
        await pass.owners([owner.owner_id]);
        assertMayActOnOwner(actor, (await this.users.getProfile(owner.owner_id)).role);
        // The answer shows the card (no change entry holds it): a read, filed before anything changes.
        await assertMaySeeOwner(caller, owner.owner_id, this.users, {
          resource_type: 'card',
          resource_id: id,
          viewed: 'card',
        });
      }
      return this.decided(id, actor, reason, owner?.owner_id, decide);
    });
  }

  /**
   * Under the card's row lock: refuses the actor's own card (read under that lock) and whatever `decide`
   * refuses; applies the change and writes its audit event in the same transaction.
   */
  private async decided(
    id: string,
    actor: StaffActor,
    reason: string,
    ownerId: string | undefined,
    decide: Decide,
  ): Promise<AdminCardDto> {
    return this.dataSource.transaction(async (m) => {
      // A block waits for a card being issued to its owner, and an issue for it (cards.service): no new
      // card slips past a block committing at the same moment.
      if (ownerId) await lockCardIssue(m, ownerId);
      const [card] = (await m.query(`SELECT ${CARD_COLUMNS} FROM cards.cards WHERE id = $1 FOR UPDATE`, [
        id,
      ])) as CardRow[];
      if (!card) throw AppError.notFound('card', 'id');
      this.refuseOwn(actor.user_id, card.owner_id, id, 'change');
      const d = decide(card, actor);
      const [rows] = (await m.query(
        `UPDATE cards.cards SET ${d.set}, updated_at = now() WHERE id = $1 RETURNING ${CARD_COLUMNS}`,
        d.blocked ? [id, actor.user_id, reason] : [id],
      )) as [CardRow[], number];
      await this.outbox.add(m, 'cards', 'staff_action.recorded', {
        action: d.action,
        actor_id: actor.user_id,
        actor_role: actor.role,
        target_user_id: card.owner_id,
        resource_type: 'card',
        resource_id: id,
        before: { blocked: card.blocked_by_staff, status: card.status },
        after: { blocked: d.blocked, status: card.status },
        reason,
      });
      return adminCardView(rows[0]);
    });
  }
}
