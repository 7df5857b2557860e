import { Inject, Injectable } from '@nestjs/common';
import { USERS_API, type Currency, type StaffActor, type UsersApi } from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertAmountWithin,
  assertMayActOnOwner,
  requestFingerprint,
  staffActor,
  StaffGate,
  type StaffPass,
  timeOrderedId,
  type Caller,
} from '@protobank/platform';
import { HistoryService } from '../history/history.service';
import { Ledger } from '../ledger/ledger';
import type { DepositDto, ReverseDto } from './admin-ledger.dto';

/**
 * Staff money movements: deposits from the cash system account, and reversing entries. The ledger
 * refuses any on the staff member's own accounts (segregation of duties), under its locks, and reports
 * each one it posts to the audit trail (staff_action.recorded) in the posting's transaction. The staff
 * member's reason goes to the audit trail only; the entry's reference, which its customers read in
 * their history, statements and notifications, is a separate field (a reason such as "fraud
 * investigation" must not tip off the person investigated). A staff member moves no money into or out of
 * a colleague's account (a staff member's or an admin's): that takes an admin (403 colleague_account),
 * so two colleagues cannot deposit into each other's accounts.
 */
@Injectable()
export class AdminLedgerService {
  constructor(
    private readonly ledger: Ledger,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly gate: StaffGate,
  ) {}

  /**
   * 403 colleague_account unless every owner is a customer (one's own: the ledger's own_account, under
   * its lock). Admins may; a request the ledger decided before replays without asking users again.
   */
  private async assertCustomersOnly(
    actor: StaffActor,
    pass: StaffPass,
    request: { key: string; fingerprint: string },
    owners: () => Promise<(string | null)[]>,
  ): Promise<void> {
    if (actor.role === 'admin') return;
    if (await this.ledger.decidedBefore(actor.user_id, request.key, request.fingerprint)) return;
    const others = [...new Set(await owners())].filter((o): o is string => !!o && o !== actor.user_id);
    await pass.owners(others);
    const profiles = await Promise.all(others.map((o) => this.users.getProfile(o)));
    for (const profile of profiles) assertMayActOnOwner(actor, profile.role);
  }

  /**
   * 409 payment_sent_externally for a payment to an external payee (credited to outbound_clearing): the
   * money left the bank through the payment scheme (payment.sent told the adapter to send it), and a
   * reversal would pay the customer back while the scheme still settles the payment: the bank would pay
   * twice. Such a payment comes back only through the scheme (a recall the receiving bank agrees to).
   * A reversal decided before this rule replays.
   */
  private async assertNotSentOut(credit: string, staffId: string, key: string, fingerprint: string) {
    if ((await this.ledger.systemCodeOf(credit)) !== 'outbound_clearing') return;
    if (await this.ledger.decidedBefore(staffId, key, fingerprint)) return;
    throw AppError.conflict(
      'payment_sent_externally',
      'This payment left the bank through the payment scheme; only a recall through the scheme brings it back',
    );
  }

  // Each action runs holding its gates: no change of the actor's or the owners' role or access lands
  // while it runs (StaffGate).
  async deposit(staff: Caller, body: DepositDto, key: string) {
    assertAmountWithin(body.amount, this.config.maxAmount);
    const actor = staffActor(staff);
    return this.gate.act(staff, (pass) => this.postDeposit(staff, actor, pass, body, key));
  }

  async reverse(staff: Caller, entryId: string, body: ReverseDto, key: string) {
    const actor = staffActor(staff);
    return this.gate.act(staff, (pass) => this.postReversal(staff, actor, pass, entryId, body, key));
  }

  private async postDeposit(
    staff: Caller,
    actor: StaffActor,
    pass: StaffPass,
    body: DepositDto,
    key: string,
  ) {
    const fingerprint = requestFingerprint('deposit', { ...body });
    await this.assertCustomersOnly(actor, pass, { key, fingerprint }, async () => [
      await this.history.ownerOfAccount(body.account_id),
    ]);
    const entryId = timeOrderedId();
    const deposit = {
      kind: 'deposit' as const,
      debit: await this.ledger.systemAccount('cash', body.currency),
      credit: body.account_id,
      amount: body.amount,
      currency: body.currency,
      reference: body.reference ?? null,
      reverses: null,
    };
    const posted = await this.ledger.post({
      ...deposit,
      entryId,
      initiatedBy: staff.user_id,
      notOwner: staff.user_id,
      staffAction: {
        action: 'deposit_posted',
        actor_id: actor.user_id,
        actor_role: actor.role,
        resource_type: 'transaction',
        resource_id: entryId,
        before: null,
        after: {
          account_id: body.account_id,
          amount: body.amount,
          currency: body.currency,
          reference: deposit.reference,
        },
        reason: body.reason,
      },
      idempotency: { owner: staff.user_id, key, fingerprint },
      fields: { debit: 'account_id', credit: 'account_id' },
    });
    const view = await this.history.postedView(posted, deposit);
    return { view, replayed: posted.replayed };
  }

  private async postReversal(
    staff: Caller,
    actor: StaffActor,
    pass: StaffPass,
    entryId: string,
    body: ReverseDto,
    key: string,
  ) {
    const {
      view: original,
      debitOwner: payer,
      creditOwner: payee,
    } = await this.history.withOwners(null, entryId);
    if (original.kind === 'reversal') {
      throw AppError.unprocessable(
        'not_reversible',
        'A reversal cannot itself be reversed; post a new entry',
      );
    }
    const fingerprint = requestFingerprint('reverse', { id: entryId, ...body });
    // Who may act first: a colleague's entry is 403 before anything tells what kind of payment it was, and
    // one's own is left to the ledger's own_account (403, logged own_account_refused), under its lock.
    await this.assertCustomersOnly(actor, pass, { key, fingerprint }, async () => [payer, payee]);
    const own = payer === staff.user_id || payee === staff.user_id;
    if (!own) await this.assertNotSentOut(original.to_account_id, staff.user_id, key, fingerprint);
    const reversal = {
      kind: 'reversal' as const,
      debit: original.to_account_id,
      credit: original.from_account_id,
      amount: original.amount,
      currency: original.currency as Currency,
      reference: body.reference ?? `Reversal of ${original.id}`,
      reverses: original.id,
      // A card payment's merchant and category go with its reversal, as with a merchant's refund: analytics
      // then files the money back under groceries at Tesco, not as an anonymous 'reversal'.
      merchant: original.merchant,
      category: original.category,
    };
    const reversalId = timeOrderedId();
    const posted = await this.ledger.post({
      ...reversal,
      entryId: reversalId,
      staffAction: {
        action: 'transaction_reversed',
        actor_id: actor.user_id,
        actor_role: actor.role,
        resource_type: 'transaction',
        resource_id: original.id,
        before: { status: 'posted' },
        // Both sides: the entry's target is the customer the money is taken back from; the one it goes
        // back to (the original payer; null for a system account) is named here.
        after: {
          status: 'reversed',
          reversed_by_id: reversalId,
          amount: original.amount,
          currency: original.currency,
          reference: reversal.reference,
          from_account_id: reversal.debit,
          to_account_id: reversal.credit,
          to_owner_id: payer,
        },
        reason: body.reason,
      },
      initiatedBy: staff.user_id,
      notOwner: staff.user_id,
      allowFrozen: true,
      idempotency: {
        owner: staff.user_id,
        key,
        fingerprint,
      },
      fields: { debit: 'id', credit: 'id' },
    });
    return { view: await this.history.postedView(posted, reversal), replayed: posted.replayed };
  }
}
