import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { KYC_REJECTION_REASONS, type KycRejectionCode, type KycStatus } from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertMayActOnOwner,
  assertNoResetHold,
  isCalendarDate,
  isPlainText,
  keysetPage,
  nameProblem,
  normaliseName,
  OutboxService,
  staffActor,
  todayIn,
  type Caller,
} from '@protobank/platform';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditLog } from '../admin/audit-log';
import { assertActiveRole, lockActorAndTarget } from '../admin/staff-checks';
import { UserEntity } from '../profiles/user.entity';
import { DocumentCipher, maskDocumentNumber } from './document-cipher';
import { DocumentHashes } from './document-hashes';
import type { ListKycQuery, SubmitKycDto } from './kyc.dto';
import { KycEntity, type DocumentType } from './kyc.entity';

const MIN_AGE = 18;
const MAX_AGE = 130;

/**
 * The document number on file does not decrypt (another KYC_ENCRYPTION_KEY, a damaged row), so nothing
 * can be checked against it: DocumentHashes has logged it (user id only).
 */
const unreadable = (message: string) => new AppError(409, 'document_unreadable', message);

/**
 * Whole years between a YYYY-MM-DD birth date and `today`, a bank date (todayIn BANK_TIME_ZONE: an
 * 18th birthday starts at midnight in the bank's zone, not UTC's); undefined for a date that does not
 * exist. Born on 29 February: a year older on 1 March in other years.
 */
export function ageOn(dateOfBirth: string, today: string): number | undefined {
  if (!isCalendarDate(dateOfBirth)) return undefined;
  const [by, bm, bd] = dateOfBirth.split('-').map(Number);
  const [ty, tm, td] = today.split('-').map(Number);
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

/** 400 naming date_of_birth unless it is a real date, not after `today`. */
export function assertBirthDate(dateOfBirth: string, today: string): void {
  const reason = !isCalendarDate(dateOfBirth)
    ? 'date_of_birth is not a real date'
    : dateOfBirth > today
      ? 'date_of_birth must not be in the future'
      : undefined;
  if (reason) {
    throw AppError.badRequest('validation_failed', 'Invalid request: date_of_birth', [
      { field: 'date_of_birth', message: reason },
    ]);
  }
}

/**
 * 400 or 422 naming date_of_birth unless it is the birth date of an adult we may serve: a real date, not
 * after `today`, at most 130 years back (400: a typing error), and 18 or more years back (422 underage).
 * KYC and the profile both hold a customer's date of birth, so both check it the same way.
 */
export function assertAdultBirthDate(dateOfBirth: string, today: string): void {
  assertBirthDate(dateOfBirth, today);
  const age = ageOn(dateOfBirth, today)!;
  if (age < MIN_AGE) {
    throw AppError.unprocessable('underage', `Applicants must be ${MIN_AGE} or older`, [
      { field: 'date_of_birth', message: `applicant is younger than ${MIN_AGE}` },
    ]);
  }
  if (age > MAX_AGE) {
    throw AppError.badRequest('validation_failed', 'Invalid request: date_of_birth', [
      { field: 'date_of_birth', message: 'date_of_birth is too far in the past' },
    ]);
  }
}

/** An approval of a document on file for another user: only by an admin, with a reason (audited). */
export interface DuplicateOverride {
  reason: string;
}

/**
 * The profile's name, for a first submission that leaves full_name out: as IsPersonName takes a name
 * sent, so that a name stored before its rules (2026-12-07: mixed scripts, symbols, styled letters) is not
 * verified as it is. 400 naming full_name when it would be refused. (A verified customer's name, verified
 * before, is kept as it is.)
 */
function profileNameForKyc(stored: string): string {
  const name = normaliseName(stored) as string;
  const problem = isPlainText(name) ? nameProblem(name) : 'holds control, invisible or misplaced characters';
  if (problem) {
    throw AppError.badRequest('validation_failed', 'Invalid request: full_name', [
      {
        field: 'full_name',
        message: `your profile's name ${problem}: send full_name as your document shows it`,
      },
    ]);
  }
  return name;
}

/** Which submission a decision was about, for its audit entry: never the document number, its last 3 only. */
const submissionOf = (k: KycEntity) => ({
  submitted_at: k.submitted_at.toISOString(),
  document_type: k.document_type,
  country: k.country,
  document_number_masked: maskDocumentNumber(k.document_number_last3),
});

const view = (k: KycEntity) => ({
  status: k.status,
  full_name: k.full_name,
  latin_name: k.latin_name,
  document_type: k.document_type,
  document_number_masked: maskDocumentNumber(k.document_number_last3),
  country: k.country,
  date_of_birth: k.date_of_birth,
  submitted_at: k.submitted_at.toISOString(),
  reviewed_at: k.reviewed_at?.toISOString() ?? null,
  // Only while rejected: an instance older than rejection_code (a rolling deploy) leaves it set when it
  // records a new submission or an approval (helper-159).
  rejection_reason: k.status === 'rejected' ? k.rejection_reason : null,
  rejection_code: k.status === 'rejected' ? k.rejection_code : null,
  verified_at: k.verified_at?.toISOString() ?? null,
});

/**
 * Another user holding the same document number: the type and country they gave it under, and whether
 * it verified them (on their approved submission, or kept on file while they re-verify) or waits for
 * review on their pending submission.
 */
export interface DuplicateHolder {
  user_id: string;
  document_type: DocumentType;
  country: string;
  status: 'pending' | 'verified' | 'superseded';
}

/** Which holder of a document a user is listed as, when they hold it more than one way. */
const HOLDER_RANK: Record<DuplicateHolder['status'], number> = { verified: 0, pending: 1, superseded: 2 };

/** A holder as duplicatesOf finds them: with their role, which decides who is shown them (listedFor). */
type FoundHolder = DuplicateHolder & { role: string };

/**
 * The holders `viewer` is shown by name: all of them to an admin; to staff, customers only. A colleague
 * (staff or admin) holding the number still makes the submission a duplicate, whose approval takes an
 * admin anyway, but staff are not told which colleague holds it, as they are not shown a colleague's own
 * submission (list, adminGet).
 */
const listedFor = (viewer: Caller, holders: FoundHolder[]): DuplicateHolder[] =>
  holders.filter((h) => viewer.role === 'admin' || h.role === 'customer').map(({ role: _, ...h }) => h);

/** The staff view: the submission, and the other users holding the same document number. */
const adminView = (k: KycEntity, holders: FoundHolder[], viewer: Caller) => {
  const duplicates = listedFor(viewer, holders);
  return {
    user_id: k.user_id,
    ...view(k),
    duplicate_document: holders.length > 0,
    duplicate_user_ids: duplicates.map((d) => d.user_id),
    duplicates,
  };
};

/**
 * KYC: a customer submits one document with the legal name and date of birth it shows (again after a
 * rejection), staff approve or reject it. Approval makes that name and date of birth the profile's,
 * and from then on they change only the same way: a verified customer submits again with the new
 * details (a re-verification). While it is reviewed, and if it is rejected, the customer stays
 * verified under the details approved before, which are what payees see: a bank declines a change of
 * name it cannot evidence, it does not unverify the customer for it (staff who suspect fraud freeze
 * accounts or disable the user). Every change writes its event to the users outbox, and every staff
 * decision to the audit trail, in the same transaction. One document verifies one customer: a document
 * number (normalised, found by its keyed hash) on another user's pending or verified submission, or kept
 * on file as the one that verified them while they re-verify with another, is flagged to staff and
 * blocks approval unless an admin overrides it with a reason. The number alone decides, whatever
 * document type or issuing country either submission gives: reviewers see only its last three
 * characters, so a number approved as a GB passport must not pass again as a national ID or another
 * country's passport (staff see each holder's type and country, and judge a true coincidence). The
 * customer is never told: that would let anyone test whether a document number is on file.
 */
@Injectable()
export class KycService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: DocumentCipher,
    private readonly outbox: OutboxService,
    private readonly auditLog: AuditLog,
    private readonly hashes: DocumentHashes,
    private readonly config: AppConfig,
  ) {}

  /**
   * A verified customer's new submission changes the legal name or date of birth the bank knows them by
   * (and payees see): it waits out a password reset's hold (assertNoResetHold), since whoever reset
   * through the mailbox may not be the person verified. A first submission, or one after a rejection
   * that never verified anyone, is not held: until verified, the account has no money to take.
   */
  async submit(caller: Caller, input: SubmitKycDto) {
    const userId = caller.user_id;
    assertAdultBirthDate(input.date_of_birth, todayIn(this.config.bankTimeZone, new Date()));
    const number = input.document_number; // normalised by the DTO: letters and digits, upper case
    return this.dataSource.transaction(async (m) => {
      // Serialise submissions of one user: lock their profile row.
      const user = await m
        .getRepository(UserEntity)
        .findOne({ where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw AppError.notFound('user');
      const current = await m.getRepository(KycEntity).findOneBy({ user_id: userId });
      if (current?.status === 'pending')
        throw AppError.conflict('kyc_pending', 'A KYC submission is already being reviewed');
      const verifiedAt = current?.verified_at ?? null;
      const fullName = input.full_name ?? (verifiedAt ? user.full_name : profileNameForKyc(user.full_name));
      // The Latin spelling verified before goes with the name it spells: kept while the name stays, unless
      // the submission removes it (null; helper-165 L2).
      const latinName =
        input.latin_name !== undefined
          ? input.latin_name
          : fullName === user.full_name
            ? user.latin_name
            : null;
      if (verifiedAt) assertNoResetHold(caller, 'changing your verified name or date of birth');
      if (
        verifiedAt &&
        fullName === user.full_name &&
        latinName === user.latin_name &&
        input.date_of_birth === user.date_of_birth
      ) {
        throw AppError.conflict(
          'kyc_already_verified',
          'KYC is already verified; submit again only to change your legal name, its Latin spelling or your date of birth',
        );
      }
      // A re-verification replaces the document on this row: the verified one stays on file beside it.
      const onFile = current && verifiedAt ? this.verifiedDocument(current) : null;
      const kyc = m.getRepository(KycEntity).create({
        user_id: userId,
        status: 'pending',
        document_type: input.document_type,
        document_number_encrypted: this.cipher.encrypt(number, userId),
        document_number_last3: number.slice(-3),
        document_number_hash: this.cipher.lookupHash(number),
        country: input.country.toUpperCase(),
        full_name: fullName,
        latin_name: latinName,
        date_of_birth: input.date_of_birth,
        submitted_at: new Date(),
        reviewed_at: null,
        reviewer_id: null,
        rejection_reason: null,
        rejection_code: null,
        verified_at: verifiedAt,
        verified_document_type: onFile?.type ?? null,
        verified_country: onFile?.country ?? null,
        verified_document_hash: onFile?.hash ?? null,
      });
      await m.getRepository(KycEntity).save(kyc);
      await this.outbox.add(m, 'users', 'kyc.submitted', { user_id: userId });
      return view(kyc);
    });
  }

  async get(userId: string) {
    const kyc = await this.dataSource.getRepository(KycEntity).findOneBy({ user_id: userId });
    return kyc ? view(kyc) : { status: 'not_submitted' as const };
  }

  /** Verified once approved, and still while a later change is reviewed or after it was rejected. */
  async status(userId: string): Promise<{ status: KycStatus }> {
    const kyc = await this.dataSource.getRepository(KycEntity).findOneBy({ user_id: userId });
    return { status: kyc?.verified_at ? 'verified' : (kyc?.status ?? 'not_submitted') };
  }

  /**
   * Whether the profile's legal name and date of birth are locked: while a submission is reviewed (it
   * carries its own) and once verified. The caller holds the profile row's lock, which submissions
   * take too, so the answer cannot change before it commits.
   */
  async identityLocked(m: EntityManager, userId: string): Promise<boolean> {
    const kyc = await m.getRepository(KycEntity).findOneBy({ user_id: userId });
    return kyc !== null && (kyc.status !== 'rejected' || kyc.verified_at !== null);
  }

  /**
   * The review queue, without the caller's own submission nor any of a document on file for them (which
   * they may neither see nor review here: see adminGet), and for staff without a colleague's (staff or
   * admin): reading or deciding one takes an admin (adminGet, review), so its names and masked number are
   * not shown to them in a list either. One snapshot for the page and its duplicates, so a document the
   * caller submits meanwhile cannot slip into the duplicates of a row the page let through.
   */
  async list(caller: Caller, q: ListKycQuery) {
    const limit = q.limit ?? 20;
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      const qb = m
        .getRepository(KycEntity)
        .createQueryBuilder('k')
        .where('k.status = :status', { status: q.status ?? 'pending' })
        .andWhere('k.user_id <> :self', { self: caller.user_id })
        // The caller's verified document as one of the row's duplicates (duplicatesOf's rule, verified
        // holders only: see shownTo).
        .andWhere(
          `NOT EXISTS (SELECT 1 FROM users.kyc mine WHERE mine.user_id = :self
             AND ((mine.document_number_hash = k.document_number_hash AND mine.status = 'verified')
                  OR mine.verified_document_hash = k.document_number_hash))
           AND NOT EXISTS (SELECT 1 FROM users.superseded_documents old
                            WHERE old.user_id = :self AND old.document_number_hash = k.document_number_hash)`,
        );
      if (caller.role !== 'admin') {
        qb.andWhere(`EXISTS (SELECT 1 FROM users.users u WHERE u.id = k.user_id AND u.role = 'customer')`);
      }
      // Oldest first: the review queue.
      const page = await keysetPage(
        qb,
        {
          alias: 'k',
          at: 'submitted_at',
          id: 'user_id',
          order: 'ASC',
          cursor: q.cursor,
          limit,
          position: (k) => ({ created_at: k.submitted_at, id: k.user_id }),
        },
        (k) => k,
      );
      const duplicates = await this.duplicatesOf(m, page.data, caller);
      const data = page.data.map((k) => adminView(k, duplicates.get(k.user_id) ?? [], caller));
      await this.fileRead(m, caller, data);
      return { data, next_cursor: page.next_cursor };
    });
  }

  /**
   * One submission for staff, with its duplicates; not their own, nor one of a document on file for them:
   * its duplicates would tell them who else holds a document number they typed in, which no customer is
   * told.
   */
  async adminGet(caller: Caller, userId: string) {
    assertNotOwn(caller, userId);
    // A colleague's identity document is an admin's to read, as theirs to decide (review): refused before
    // the submission is looked up, so that a 404 does not tell staff which colleagues have none.
    const [subject] = (await this.dataSource.query(`SELECT role FROM users.users WHERE id = $1`, [
      userId,
    ])) as { role: string }[];
    if (subject) assertMayActOnOwner(staffActor(caller), subject.role);
    const kyc = await this.dataSource.getRepository(KycEntity).findOneBy({ user_id: userId });
    if (!kyc) throw AppError.notFound('KYC submission', 'user_id');
    assertNotOwn(caller, kyc.user_id);
    const duplicates =
      (await this.duplicatesOf(this.dataSource.manager, [kyc], caller)).get(kyc.user_id) ?? [];
    assertNotHeldBy(caller, kyc.user_id, duplicates);
    const shown = adminView(kyc, duplicates, caller);
    await this.fileRead(this.dataSource.manager, caller, [shown]);
    return shown;
  }

  /**
   * Submissions about to be shown to staff, filed in the audit trail first (customer_data_viewed, as every
   * staff read of a user's data): one entry per user whose submission is shown, and per holder of the same
   * document named in its duplicates.
   */
  private async fileRead(
    m: EntityManager,
    caller: Caller,
    shown: { user_id: string; duplicate_user_ids: string[] }[],
  ): Promise<void> {
    await this.auditLog.recordRead(m, {
      actor: staffActor(caller),
      owner_ids: shown.flatMap((k) => [k.user_id, ...k.duplicate_user_ids]),
      resource_type: 'kyc',
      viewed: 'kyc',
    });
  }

  /**
   * The document that verified this user: the submission's own once approved, else the one kept on file
   * when they submitted again (null for a re-verification begun before documents were kept).
   */
  private verifiedDocument(k: KycEntity): { type: DocumentType; country: string; hash: Buffer } | null {
    if (k.status === 'verified') {
      // Refused rather than replaced: the verified document would leave the duplicate check for good.
      const hash = k.document_number_hash ?? this.hashes.hashOf(k);
      if (!hash) {
        throw unreadable(
          'The identity document that verified you cannot be read; contact us to change your details',
        );
      }
      return { type: k.document_type, country: k.country, hash };
    }
    return k.verified_document_type && k.verified_country && k.verified_document_hash
      ? { type: k.verified_document_type, country: k.verified_country, hash: k.verified_document_hash }
      : null;
  }

  /**
   * For each submission, the other users whose pending or verified submission holds the same document
   * number, or whose verified document it is (kept on file while they re-verify with another), whatever
   * type and country each gives it: one entry per user, the verified document first, ordered by user id.
   * Rejected submissions do not count: rejecting the impostors clears the genuine holder's flag. As
   * `viewer` is shown them and decides by them (shownTo).
   */
  private async duplicatesOf(
    m: EntityManager,
    rows: KycEntity[],
    viewer: Caller,
  ): Promise<Map<string, FoundHolder[]>> {
    const hashed = rows.filter((k) => k.document_number_hash);
    if (!hashed.length) return new Map();
    const found = (await m.query(
      `WITH v(user_id, hash) AS (SELECT * FROM unnest($1::uuid[], $2::bytea[]))
       SELECT d.*, coalesce(u.role, 'unknown') AS role FROM (
         SELECT v.user_id AS of, o.user_id, o.document_type, o.country, o.status
           FROM v JOIN users.kyc o ON o.document_number_hash = v.hash AND o.status IN ('pending', 'verified')
                                  AND o.user_id <> v.user_id
         UNION ALL
         SELECT v.user_id, o.user_id, o.verified_document_type, o.verified_country, 'verified'
           FROM v JOIN users.kyc o ON o.verified_document_hash = v.hash AND o.user_id <> v.user_id
         UNION ALL
         SELECT v.user_id, o.user_id, o.document_type, o.country, 'superseded'
           FROM v JOIN users.superseded_documents o ON o.document_number_hash = v.hash AND o.user_id <> v.user_id
       ) d LEFT JOIN users.users u ON u.id = d.user_id`,
      [hashed.map((k) => k.user_id), hashed.map((k) => k.document_number_hash)],
    )) as (FoundHolder & { of: string })[];
    const byRow = new Map<string, Map<string, FoundHolder>>();
    for (const { of, ...holder } of found) {
      if (!shownTo(viewer, holder)) continue;
      const holders = byRow.get(of) ?? new Map<string, FoundHolder>();
      byRow.set(of, holders);
      const known = holders.get(holder.user_id);
      if (!known || HOLDER_RANK[holder.status] < HOLDER_RANK[known.status])
        holders.set(holder.user_id, holder);
    }
    return new Map(
      [...byRow].map(([of, holders]) => [
        of,
        [...holders.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
      ]),
    );
  }

  /**
   * Approves or rejects the pending submission that `submittedAt` names (the one the reviewer read):
   * 409 kyc_changed when the customer has submitted again since, so that no decision falls on a
   * submission nobody looked at. The audit entry says which submission it was.
   */
  async review(
    reviewer: Caller,
    userId: string,
    submittedAt: string,
    decision:
      | { approve: true; override?: DuplicateOverride }
      | { approve: false; reason_code: KycRejectionCode; note: string },
  ) {
    assertNotOwn(reviewer, userId);
    // An override is an admin's, whether or not the document turns out to be a duplicate: staff sending one
    // with an ordinary approval put their override_reason in the trail as the approval's (helper-119).
    if (decision.approve && decision.override && reviewer.role !== 'admin') {
      throw new AppError(403, 'forbidden', 'Only an admin may approve a document on file for another user');
    }
    // The duplicate checks must see every document, those stored before lookup hashes existed included:
    // an approval's, and either decision's refusal of a document on file for the reviewer.
    await this.hashes.fillMissing({ wait: true });
    return this.dataSource.transaction(async (m) => {
      // The reviewer's row and the customer's, in one ordered lock before the submission's: two staff
      // deciding on each other's KYC at once, or an admin's approval of X beside a change to X
      // (lockForAdminChange, which locks a superset in the same order), queue instead of deadlocking.
      const roles = await lockActorAndTarget(m, reviewer, userId, ['staff', 'admin']);
      if (roles.targetRole) {
        assertMayActOnOwner(staffActor(reviewer), roles.targetRole);
      }
      const kyc = await m
        .getRepository(KycEntity)
        .findOne({ where: { user_id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!kyc) throw AppError.notFound('KYC submission', 'user_id');
      // The row's id, as Postgres spells it: the checks and lookups below compare strings.
      assertNotOwn(reviewer, kyc.user_id);
      if (kyc.status !== 'pending')
        throw AppError.conflict('kyc_not_pending', `This KYC submission is ${kyc.status}, not pending`);
      kyc.reviewed_at = new Date();
      kyc.reviewer_id = reviewer.user_id;
      const reverification = kyc.verified_at !== null;
      // A rejection needs no hash (and is how an unreadable submission is cleared); an approval does.
      kyc.document_number_hash ??= this.hashes.hashOf(kyc);
      if (decision.approve && !kyc.document_number_hash) {
        throw unreadable(
          'The document number on file cannot be read; reject this submission so that the customer submits it again',
        );
      }
      // Two duplicates approved at once both see the other pending, so neither passes this check.
      const duplicates = (await this.duplicatesOf(m, [kyc], reviewer)).get(kyc.user_id) ?? [];
      assertNotHeldBy(reviewer, kyc.user_id, duplicates);
      // Only what the reviewer may decide on is compared: refusals of who they are come first.
      if (kyc.submitted_at.getTime() !== new Date(submittedAt).getTime()) {
        throw new AppError(
          409,
          'kyc_changed',
          "submitted_at is not the pending submission's: the customer may have submitted again since it was read. Open it again and decide on what it holds now",
          [
            {
              field: 'submitted_at',
              message: `the pending submission was submitted at ${kyc.submitted_at.toISOString()}`,
            },
          ],
        );
      }
      if (decision.approve) {
        if (duplicates.length) await this.assertOverride(m, reviewer, decision.override);
        kyc.status = 'verified';
        kyc.verified_at = kyc.reviewed_at;
        // This submission's document is the verified one now; the one kept on file is superseded, and kept
        // as such: it verified this customer, and anyone else who submits it is a duplicate.
        if (kyc.verified_document_hash && kyc.verified_document_type && kyc.verified_country) {
          await m.query(
            `INSERT INTO users.superseded_documents (user_id, document_number_hash, document_type, country)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
            [kyc.user_id, kyc.verified_document_hash, kyc.verified_document_type, kyc.verified_country],
          );
        }
        kyc.verified_document_type = null;
        kyc.verified_country = null;
        kyc.verified_document_hash = null;
        // The verified details become the profile's: the name payees see is the name staff checked.
        const users = m.getRepository(UserEntity);
        const user = await users.findOneBy({ id: userId }); // locked above
        if (!user) throw AppError.notFound('user', 'user_id');
        const before = {
          full_name: user.full_name,
          latin_name: user.latin_name,
          date_of_birth: user.date_of_birth,
        };
        const after = {
          full_name: kyc.full_name,
          latin_name: kyc.latin_name,
          date_of_birth: kyc.date_of_birth,
        };
        await users.update({ id: userId }, after);
        await this.outbox.add(m, 'users', 'kyc.verified', {
          user_id: userId,
          reviewer_id: reviewer.user_id,
          reverification,
        });
        const changed = (Object.keys(after) as (keyof typeof after)[]).some((k) => before[k] !== after[k]);
        await this.auditLog.record(m, reviewer, {
          action: 'kyc_approved',
          ...aboutKyc(userId),
          before: changed ? { status: 'pending', ...before } : { status: 'pending' },
          after: changed ? { status: 'verified', ...after } : { status: 'verified' },
          // Only an override of a duplicate has a reason to keep: one sent with a plain approval overrode nothing.
          reason: duplicates.length ? (decision.override?.reason ?? null) : null,
          details: {
            submission: submissionOf(kyc),
            ...(duplicates.length
              ? {
                  duplicate_document: true,
                  duplicate_user_ids: duplicates.map((d) => d.user_id),
                  duplicates: duplicates.map(({ role: _, ...d }) => d),
                }
              : {}),
          },
        });
      } else {
        // The customer is told the bank's wording for the code; the reviewer's note is the audit trail's.
        const told = KYC_REJECTION_REASONS[decision.reason_code];
        kyc.status = 'rejected';
        kyc.rejection_reason = told;
        kyc.rejection_code = decision.reason_code;
        await this.outbox.add(m, 'users', 'kyc.rejected', {
          user_id: userId,
          reviewer_id: reviewer.user_id,
          reason: told,
          reason_code: decision.reason_code,
          reverification,
        });
        await this.auditLog.record(m, reviewer, {
          action: 'kyc_rejected',
          ...aboutKyc(userId),
          before: { status: 'pending' },
          after: { status: 'rejected' },
          reason: decision.note,
          details: { reason_code: decision.reason_code, told, submission: submissionOf(kyc) },
        });
      }
      await m.getRepository(KycEntity).save(kyc);
      // The answer shows the submission and its duplicates, read afresh: filed with the decision.
      const shown = adminView(kyc, duplicates, reviewer);
      await this.fileRead(m, reviewer, [shown]);
      return shown;
    });
  }

  /** A duplicate is approved only by an active admin (their row, locked, decides) who gave a reason. */
  private async assertOverride(m: EntityManager, reviewer: Caller, override?: DuplicateOverride) {
    if (!override) {
      throw new AppError(
        409,
        'duplicate_document',
        'This document is on file for another user; an admin may approve it with override_duplicate and a reason',
        [{ field: 'override_duplicate', message: "the same document is on another user's submission" }],
      );
    }
    if (reviewer.role !== 'admin') {
      throw new AppError(403, 'forbidden', 'Only an admin may approve a document on file for another user');
    }
    await assertActiveRole(m, reviewer, ['admin']);
  }
}

/**
 * Staff never see or decide their own submission through the staff routes. Each refusal is logged as a
 * security event (own_kyc_refused): approving one's own identity check is the insider's first move.
 */
function assertNotOwn(staff: Caller, userId: string): void {
  if (staff.user_id === userId) {
    throw new AppError(403, 'own_kyc', 'Staff cannot review their own KYC').logged({
      security_event: 'own_kyc_refused',
      actor_id: staff.user_id,
      target_user_id: userId,
    });
  }
}

/**
 * The duplicates a staff member is shown and decided by: without their own submission while it is not
 * verified. Anyone can type a number into their own KYC; if that changed what they see (a holder named, a
 * row gone from the queue, a 403 or 409), a member of staff could learn who holds any document number by
 * submitting it. Their submission is weighed when someone else reviews it (the other holder, verified by
 * then, makes it a duplicate).
 */
const shownTo = (staff: Caller, holder: DuplicateHolder) =>
  holder.user_id !== staff.user_id || holder.status !== 'pending';

/**
 * A submission of a document verified as the staff member's is theirs too: its duplicates name them, and
 * they must not decide whether someone else may hold their document.
 */
function assertNotHeldBy(staff: Caller, userId: string, duplicates: DuplicateHolder[]): void {
  if (duplicates.some((d) => d.user_id === staff.user_id)) {
    // Logged, but not counted by the insider alert: it is someone else's submission, which the queue shows.
    throw new AppError(
      403,
      'own_kyc',
      'This document is on file for you: another member of staff must decide on it',
    ).logged({ security_event: 'own_document_refused', actor_id: staff.user_id, target_user_id: userId });
  }
}

/** A decision on a user's KYC submission: the user is the target, their submission the resource. */
const aboutKyc = (userId: string) => ({
  target_user_id: userId,
  resource_type: 'kyc' as const,
  resource_id: userId,
});
