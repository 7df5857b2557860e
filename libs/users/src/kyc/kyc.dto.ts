import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsPlainText, Optional } from '@protobank/platform';
import { Transform } from 'class-transformer';
import { IsIn, IsISO31661Alpha2, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { PageQuery } from '../admin/admin-users.dto';

export const DATE_ONLY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export class SubmitKycDto {
  @ApiProperty({ enum: ['passport', 'driving_licence', 'national_id'], example: 'passport' })
  @IsIn(['passport', 'driving_licence', 'national_id'])
  document_type: 'passport' | 'driving_licence' | 'national_id';

  @ApiProperty({
    example: '502135326',
    description:
      '6 to 20 letters or digits (spaces and dashes are ignored); stored encrypted, only the last 3 ever shown',
  })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.replace(/[\s-]/g, '').toUpperCase() : value,
  )
  @IsString()
  @Matches(/^[A-Z0-9]{6,20}$/, { message: 'document_number must be 6 to 20 letters or digits' })
  document_number: string;

  @ApiProperty({ example: 'GB', description: 'ISO 3166-1 alpha-2 country that issued the document' })
  @IsISO31661Alpha2()
  country: string;

  @ApiProperty({ example: '1990-04-12', description: 'YYYY-MM-DD; applicants must be 18 or older' })
  @Matches(DATE_ONLY, { message: 'date_of_birth must be a date as YYYY-MM-DD' })
  date_of_birth: string;

  @ApiPropertyOptional({
    example: 'Alice Jones',
    maxLength: 200,
    description:
      "The legal name as the document shows it; defaults to the profile's name. Approval makes it the profile's name, which payees see. A verified customer changes their legal name (or date of birth) only by submitting again with the new one: until staff approve it, the verified name stays.",
  })
  @Optional()
  @IsPlainText(1, 200)
  full_name?: string;
}

export class RejectKycDto {
  @ApiProperty({ example: 'Document image unreadable' })
  @IsString()
  @Length(3, 500)
  reason: string;
}

export class KycUserParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUUID()
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
  @ApiPropertyOptional({ example: 'passport' })
  document_type?: string;
  @ApiPropertyOptional({ example: '******326' })
  document_number_masked?: string;
  @ApiPropertyOptional({ example: 'GB' })
  country?: string;
  @ApiPropertyOptional({ example: '1990-04-12' })
  date_of_birth?: string;
  @ApiPropertyOptional({ example: '2026-11-21T09:30:00.000Z' })
  submitted_at?: string;
  @ApiPropertyOptional({ example: null, nullable: true, type: String })
  reviewed_at?: string | null;
  @ApiPropertyOptional({ example: null, nullable: true, type: String })
  rejection_reason?: string | null;
  @ApiPropertyOptional({
    example: '2026-11-21T10:02:00.000Z',
    nullable: true,
    type: String,
    description:
      'When the identity was last verified. Set while a later submission (a change of legal name or date of birth) is pending or after it was rejected: the customer stays verified under the details approved then.',
  })
  verified_at?: string | null;
}

export class AdminKycDto extends KycDto {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  user_id: string;
}

export class KycPageDto {
  @ApiProperty({ type: [AdminKycDto] })
  data: AdminKycDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}
