import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { KycStatus } from '@protobank/contracts';
import { AppError, keysetPage, OutboxService, type Caller } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { AuditLog } from '../admin/audit-log';
import { assertActiveRole } from '../admin/staff-checks';
import { UserEntity } from '../profiles/user.entity';
import { DocumentCipher, maskDocumentNumber } from './document-cipher';
import type { ListKycQuery, SubmitKycDto } from './kyc.dto';
import { KycEntity } from './kyc.entity';

const MIN_AGE = 18;

/** Whole years between a YYYY-MM-DD birth date and today (UTC); undefined for a date that does not exist. */
export function ageOn(dateOfBirth: string, today = new Date()): number | undefined {
  const born = new Date(`${dateOfBirth}T00:00:00Z`);
  if (Number.isNaN(born.getTime()) || born.toISOString().slice(0, 10) !== dateOfBirth) return undefined;
  let age = today.getUTCFullYear() - born.getUTCFullYear();
  const beforeBirthday =
    today.getUTCMonth() < born.getUTCMonth() ||
    (today.getUTCMonth() === born.getUTCMonth() && today.getUTCDate() < born.getUTCDate());
  if (beforeBirthday) age--;
  return age;
}

const view = (k: KycEntity) => ({
  status: k.status,
  document_type: k.document_type,
  document_number_masked: maskDocumentNumber(k.document_number_last3),
  country: k.country,
  date_of_birth: k.date_of_birth,
  submitted_at: k.submitted_at.toISOString(),
  reviewed_at: k.reviewed_at?.toISOString() ?? null,
  rejection_reason: k.rejection_reason,
});

/**
 * KYC: a customer submits one document (again after a rejection), staff approve or reject it. Every
 * change writes its event to the users outbox, and every staff decision to the audit trail, in the
 * same transaction.
 */
@Injectable()
export class KycService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: DocumentCipher,
    private readonly outbox: OutboxService,
    private readonly auditLog: AuditLog,
  ) {}

  async submit(userId: string, input: SubmitKycDto) {
    const age = ageOn(input.date_of_birth);
    if (age === undefined) {
      throw AppError.badRequest('validation_failed', 'Invalid request: date_of_birth', [
        { field: 'date_of_birth', message: 'date_of_birth is not a real date' },
      ]);
    }
    if (age < MIN_AGE) {
      throw AppError.unprocessable('underage', `Applicants must be ${MIN_AGE} or older`, [
        { field: 'date_of_birth', message: `applicant is younger than ${MIN_AGE}` },
      ]);
    }
    if (age > 130) {
      throw AppError.badRequest('validation_failed', 'Invalid request: date_of_birth', [
        { field: 'date_of_birth', message: 'date_of_birth is too far in the past' },
      ]);
    }
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
      if (current?.status === 'verified')
        throw AppError.conflict('kyc_already_verified', 'KYC is already verified');
      const kyc = m.getRepository(KycEntity).create({
        user_id: userId,
        status: 'pending',
        document_type: input.document_type,
        document_number_encrypted: this.cipher.encrypt(number, userId),
        document_number_last3: number.slice(-3),
        country: input.country.toUpperCase(),
        date_of_birth: input.date_of_birth,
        submitted_at: new Date(),
        reviewed_at: null,
        reviewer_id: null,
        rejection_reason: null,
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

  async status(userId: string): Promise<{ status: KycStatus }> {
    const kyc = await this.dataSource.getRepository(KycEntity).findOneBy({ user_id: userId });
    return { status: kyc?.status ?? 'not_submitted' };
  }

  async list(q: ListKycQuery) {
    const limit = q.limit ?? 20;
    const qb = this.dataSource
      .getRepository(KycEntity)
      .createQueryBuilder('k')
      .where('k.status = :status', { status: q.status ?? 'pending' });
    // Oldest first: the review queue.
    return keysetPage(
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
      (k) => ({ user_id: k.user_id, ...view(k) }),
    );
  }

  async review(
    reviewer: Caller,
    userId: string,
    decision: { approve: true } | { approve: false; reason: string },
  ) {
    if (reviewer.user_id === userId) throw new AppError(403, 'own_kyc', 'Staff cannot review their own KYC');
    return this.dataSource.transaction(async (m) => {
      await assertActiveRole(m, reviewer, ['staff', 'admin']);
      const kyc = await m
        .getRepository(KycEntity)
        .findOne({ where: { user_id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!kyc) throw AppError.notFound('KYC submission');
      if (kyc.status !== 'pending')
        throw AppError.conflict('kyc_not_pending', `This KYC submission is ${kyc.status}, not pending`);
      kyc.reviewed_at = new Date();
      kyc.reviewer_id = reviewer.user_id;
      if (decision.approve) {
        kyc.status = 'verified';
        await this.outbox.add(m, 'users', 'kyc.verified', { user_id: userId, reviewer_id: reviewer.user_id });
        await this.auditLog.record(m, reviewer, 'kyc_approved', userId);
      } else {
        kyc.status = 'rejected';
        kyc.rejection_reason = decision.reason;
        await this.outbox.add(m, 'users', 'kyc.rejected', {
          user_id: userId,
          reviewer_id: reviewer.user_id,
          reason: decision.reason,
        });
        await this.auditLog.record(m, reviewer, 'kyc_rejected', userId, { reason: decision.reason });
      }
      await m.getRepository(KycEntity).save(kyc);
      return { user_id: userId, ...view(kyc) };
    });
  }
}
