import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsPersonName, IsReason, IsUuid, Optional, Removable } from '@protobank/platform';
import { KYC_REJECTION_CODES, type KycRejectionCode } from '@protobank/contracts';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsISO31661Alpha2,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageQuery } from '../admin/admin-users.dto';
import { DOCUMENT_NUMBER, normaliseDocumentNumber } from './document-number';

/** A name as Latin letters spell it on a document: words of A-Z, joined by spaces, ' or -, a dot after one. */
export const LATIN_NAME = /^[A-Z]+(?:[ '.-]{1,2}[A-Z]+)*\.?$/;
const asciiUpper = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s.toUpperCase() : s);
export const DATE_ONLY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** An instant as the API writes it (toISOString), or with an offset: what a reviewer echoes back. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Which submission a decision is about: its submitted_at, as GET /admin/kyc/{user_id} showed it to the
 * reviewer. A customer may submit again after a rejection while a reviewer still has the old one open;
 * the decision must not fall on a submission nobody looked at (409 kyc_changed).
 */
export class KycDecisionDto {
  @ApiProperty({
    format: 'date-time',
    example: '2026-12-01T09:30:00.000Z',
    description:
      'submitted_at of the submission decided on, as GET /admin/kyc/{user_id} showed it: 409 kyc_changed when the pending submission is another one (the customer submitted again)',
  })
  @Matches(INSTANT, { message: 'submitted_at must be the submission’s submitted_at, as an ISO 8601 instant' })
  @IsISO8601(
    { strict: true, strictSeparator: true },
    { message: 'submitted_at must be a real date and time' },
  )
  submitted_at: string;
}

export class SubmitKycDto {
  @ApiProperty({ enum: ['passport', 'driving_licence', 'national_id'], example: 'passport' })
  @IsIn(['passport', 'driving_licence', 'national_id'])
  document_type: 'passport' | 'driving_licence' | 'national_id';

  @ApiProperty({
    example: '502135326',
    description:
      '6 to 20 letters or digits, in any case (spaces, dashes, dots and slashes are ignored; full-width and ' +
      'other compatibility forms count as their plain letters and digits); stored encrypted, only the last 3 ever shown',
  })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? normaliseDocumentNumber(value) : value,
  )
  @IsString()
  @Matches(DOCUMENT_NUMBER, { message: 'document_number must be 6 to 20 letters or digits' })
  document_number: string;

  @ApiProperty({ example: 'GB', description: 'ISO 3166-1 alpha-2 country that issued the document' })
  @IsISO31661Alpha2()
  country: string;

  @ApiProperty({
    format: 'date',
    example: '1990-04-12',
    description: 'YYYY-MM-DD; applicants must be 18 or older',
  })
  @Matches(DATE_ONLY, { message: 'date_of_birth must be a date as YYYY-MM-DD' })
  date_of_birth: string;

  @ApiPropertyOptional({
    example: 'Alice Jones',
    maxLength: 200,
    description:
      "The legal name as the document shows it (letters, each word in one script, as at registration); defaults to the profile's name. Approval makes it the profile's name, which payees see. A verified customer changes their legal name (or date of birth) only by submitting again with the new one: until staff approve it, the verified name stays.",
  })
  @Optional()
  @IsPersonName(200)
  full_name?: string;

  @ApiPropertyOptional({
    example: 'LI XIAOLONG',
    maxLength: 200,
    description:
      "The legal name in Latin letters as the document spells it (a passport's machine-readable zone or its Latin line): letters A-Z, spaces and ' - ., upper-cased. Give it when your name is in a script cards cannot carry (Han, Arabic…): approved with the rest, your cards carry it (a name every word of which has a Latin spelling is carried as it is, whatever this says). Left out: a re-submission with the same full_name keeps the one verified before, one with a new full_name has none; null: none (a change staff review like any other).",
    nullable: true,
    type: String,
  })
  @Removable()
  // Upper-cased only when ASCII: ı, ſ or ﬀ would become I, S or FF, letters the document does not have.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? asciiUpper(value.trim().replace(/\s+/g, ' ')) : value,
  )
  @IsString()
  @MaxLength(200)
  @Matches(LATIN_NAME, {
    message: '$property must be Latin letters A-Z, with spaces, apostrophes, hyphens or dots between words',
  })
  latin_name?: string | null;
}

export class RejectKycDto extends KycDecisionDto {
  @ApiProperty({
    enum: KYC_REJECTION_CODES,
    example: 'document_unreadable',
    description:
      "Why, as the customer is told it: the notice and the customer's view carry the bank's wording for the code (rejection_reason), never the reviewer's text",
  })
  @IsIn(KYC_REJECTION_CODES)
  reason_code: KycRejectionCode;

  @ApiProperty({
    minLength: 3,
    maxLength: 500,
    example: 'Corner of the passport photo cut off',
    description:
      "The reviewer's note: kept in the audit trail (staff read it there), not shown to the customer",
  })
  @IsReason()
  reason: string;
}

export class ApproveKycDto extends KycDecisionDto {
  @ApiPropertyOptional({
    example: true,
    description:
      'Admins only: approve although the same document (type, country and number) is on file for another ' +
      'user (pending or verified); needs override_reason, and is audited',
  })
  @Optional()
  @IsBoolean()
  override_duplicate?: boolean;

  @ApiPropertyOptional({
    minLength: 3,
    maxLength: 500,
    example: 'Same person: re-registered after losing access; the old profile is disabled',
  })
  @ValidateIf((o: ApproveKycDto) => o.override_duplicate === true || o.override_reason !== undefined)
  @IsReason()
  override_reason?: string;
}

export class KycUserParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUuid()
  user_id: string;
}

export class ListKycQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['pending', 'verified', 'rejected'], default: 'pending' })
  @IsOptional()
  @IsIn(['pending', 'verified', 'rejected'])
  status?: 'pending' | 'verified' | 'rejected';
}

export class KycDto {
  @ApiProperty({
    example: 'pending',
    enum: ['not_submitted', 'pending', 'verified', 'rejected'],
    description: 'Of the latest submission; see verified_at for whether the identity is verified',
  })
  status: string;
  @ApiPropertyOptional({ example: 'Alice Jones', description: 'The legal name this submission verifies' })
  full_name?: string;
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: String,
    description:
      'That name in Latin letters as the document spells it, when given (cards carry it when the name has a word in a script they cannot carry)',
  })
  latin_name?: string | null;
  @ApiPropertyOptional({ example: 'passport' })
  document_type?: string;
  @ApiPropertyOptional({ example: '******326' })
  document_number_masked?: string;
  @ApiPropertyOptional({ example: 'GB' })
  country?: string;
  @ApiPropertyOptional({ format: 'date', example: '1990-04-12' })
  date_of_birth?: string;
  @ApiPropertyOptional({ format: 'date-time', example: '2026-11-21T09:30:00.000Z' })
  submitted_at?: string;
  @ApiPropertyOptional({ example: null, nullable: true, type: String, format: 'date-time' })
  reviewed_at?: string | null;
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: String,
    description:
      "What the customer is told of a rejection: the bank's wording for rejection_code (one decided before 2026-12-07, with no code, shows the reviewer's text as it was then)",
  })
  rejection_reason?: string | null;
  @ApiPropertyOptional({ example: null, nullable: true, enum: KYC_REJECTION_CODES })
  rejection_code?: KycRejectionCode | null;
  @ApiPropertyOptional({
    example: '2026-11-21T10:02:00.000Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'When the identity was last verified. Set while a later submission (a change of legal name or date of birth) is pending or after it was rejected: the customer stays verified under the details approved then.',
  })
  verified_at?: string | null;
}

export class DuplicateHolderDto {
  @ApiProperty({ format: 'uuid', example: '5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' })
  user_id: string;
  @ApiProperty({
    example: 'passport',
    enum: ['passport', 'driving_licence', 'national_id'],
    description: 'The document type that user gave the number under',
  })
  document_type: string;
  @ApiProperty({ example: 'GB', description: 'The issuing country that user gave' })
  country: string;
  @ApiProperty({
    example: 'verified',
    enum: ['pending', 'verified', 'superseded'],
    description:
      'verified: the document verified that user (their approved submission, or kept on file while they re-verify); pending: it is on their submission waiting for review; superseded: it verified that user before an approved re-verification replaced it',
  })
  status: string;
}

export class AdminKycDto extends KycDto {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  user_id: string;

  @ApiProperty({
    example: false,
    description:
      'The same document number (normalised, whatever document type or issuing country) is held by another ' +
      'user: approving needs an admin override (409 duplicate_document otherwise)',
  })
  duplicate_document: boolean;

  @ApiProperty({
    type: [String],
    format: 'uuid',
    example: [],
    description:
      'Those other users, whose submissions a reviewer can open with GET /admin/kyc/{user_id}. To staff, customers only: a colleague (staff or admin) holding the number makes duplicate_document true but is named to admins only',
  })
  duplicate_user_ids: string[];

  @ApiProperty({
    type: [DuplicateHolderDto],
    example: [],
    description:
      'Each of those users (to staff, customers only) with the document type and issuing country they gave, and whether it verified them',
  })
  duplicates: DuplicateHolderDto[];
}

export class KycPageDto {
  @ApiProperty({ type: [AdminKycDto] })
  data: AdminKycDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}
