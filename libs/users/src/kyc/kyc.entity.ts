import type { KycRejectionCode } from '@protobank/contracts';
import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type KycStatus = 'pending' | 'verified' | 'rejected';
export type DocumentType = 'passport' | 'driving_licence' | 'national_id';

/**
 * A user's current KYC submission: the legal name and date of birth it asks to verify, and the document
 * that shows them. The document number is stored only encrypted (and its last 3). Approval copies the
 * name and date of birth onto the profile, where they stay locked; `verified_at` records the last
 * approval and outlives a later submission (a re-verification), so the customer stays verified, under
 * the details last approved, while a change is reviewed or after it is refused. The document number also
 * has a keyed lookup hash, to find the same document on another user's submission.
 */
@Entity({ schema: 'users', name: 'kyc' })
@Index('kyc_status_idx', { synchronize: false })
@Index('kyc_document_hash_idx', { synchronize: false })
@Index('kyc_document_hash_missing_idx', { synchronize: false })
@Index('kyc_verified_document_hash_idx', { synchronize: false })
@Check('kyc_status_check', `status IN ('pending', 'verified', 'rejected')`)
@Check(
  'kyc_verified_document_check',
  `(verified_document_type IS NULL) = (verified_document_hash IS NULL) AND (verified_country IS NULL) = (verified_document_hash IS NULL)`,
)
@Check('kyc_document_type_check', `document_type IN ('passport', 'driving_licence', 'national_id')`)
export class KycEntity {
  @PrimaryColumn('uuid')
  user_id: string;

  @Column('text')
  status: KycStatus;

  @Column('text')
  document_type: DocumentType;

  @Column('text')
  document_number_encrypted: string;

  @Column('text')
  document_number_last3: string;

  /** HMAC of the normalised number (DocumentCipher.lookupHash); null until computed for rows from before it. */
  @Column('bytea', { nullable: true })
  document_number_hash: Buffer | null;

  @Column('char', { length: 2 })
  country: string;

  /** The legal name this submission asks to verify (the profile's name when it gave none). */
  @Column('text')
  full_name: string;

  /** That name in Latin letters as the document spells it (its machine-readable zone), when given. */
  @Column('text', { nullable: true })
  latin_name: string | null;

  @Column('date')
  date_of_birth: string;

  @Column({ type: 'timestamptz', precision: 3 })
  submitted_at: Date;

  @Column('timestamptz', { nullable: true })
  reviewed_at: Date | null;

  @Column('uuid', { nullable: true })
  reviewer_id: string | null;

  /** What the customer was told: KYC_REJECTION_REASONS' wording (before 2026-12-07, the reviewer's text). */
  @Column('text', { nullable: true })
  rejection_reason: string | null;

  /** Why, by code (null for a rejection decided before 2026-12-07, and while not rejected). */
  @Column('text', { nullable: true })
  rejection_code: KycRejectionCode | null;

  /** When staff last approved this user's identity; null while they never have. */
  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  verified_at: Date | null;

  /**
   * The document that last verified this user while a later submission (with its own document) is
   * reviewed or after it was refused; null otherwise, when the submission's document is the verified
   * one. It stays on file for the duplicate check: re-verifying must not free it for another user.
   */
  @Column('text', { nullable: true })
  verified_document_type: DocumentType | null;

  @Column('char', { length: 2, nullable: true })
  verified_country: string | null;

  @Column('bytea', { nullable: true })
  verified_document_hash: Buffer | null;
}
