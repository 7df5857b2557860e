import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsPlainText, IsUuid, Optional, Removable } from '@protobank/platform';
import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';
import { SCHEME_CHARACTERS, SCHEME_MAPPING } from './scheme-text';

/** "99-00-01" and "990001" are the same sort code; it is kept as 6 digits. */
const SortCode = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{2}-\d{2}-\d{2}$/.test(value) ? value.replace(/-/g, '') : value,
  );

export class CreatePayeeDto {
  @ApiProperty({
    maxLength: 70,
    example: 'Landlord',
    description: `Your name for the payee; no control, bidirectional or invisible characters (trimmed, NFC); for an external payee (sent through the payment scheme) ${SCHEME_CHARACTERS} only (400; ${SCHEME_MAPPING})`,
  })
  @IsPlainText(1, 70)
  name: string;

  @ApiProperty({
    example: '20-00-00',
    description: '6 digits, with or without dashes. Ours makes an internal payee',
  })
  @SortCode()
  @Matches(/^\d{6}$/, { message: '$property must be 6 digits, e.g. 20-00-00' })
  sort_code: string;

  @ApiProperty({
    example: '31926803',
    description:
      "8 digits; at our sort code the last is a modulus-11 check digit over the sort code and the others (as for transfers); another bank's number is taken as given (each bank has its own scheme)",
  })
  @Matches(/^\d{8}$/, { message: '$property must be 8 digits' })
  account_number: string;

  @ApiPropertyOptional({
    maxLength: 18,
    example: 'FLAT 2 RENT',
    description: `The reference the payee sees when none is given with a payment (1 to 18 characters of plain text; for an external payee ${SCHEME_CHARACTERS} only, 400; ${SCHEME_MAPPING})`,
  })
  @Optional()
  @IsPlainText(1, 18)
  reference?: string;
}

export class UpdatePayeeDto {
  @ApiPropertyOptional({
    maxLength: 70,
    example: 'Landlord (flat 2)',
    description: `As when saved: plain text; for an external payee ${SCHEME_CHARACTERS} only (400; ${SCHEME_MAPPING})`,
  })
  @Optional()
  @IsPlainText(1, 70)
  name?: string;

  @ApiPropertyOptional({
    maxLength: 18,
    nullable: true,
    type: String,
    example: 'FLAT 2 RENT',
    description:
      'As when saved, or null to remove it. Orders already set up keep the reference they were set up with; an order set up later without a reference of its own takes this one (400 naming reference when there is none)',
  })
  @Removable()
  @IsPlainText(1, 18)
  reference?: string | null;
}

export class PayeeIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

export class PayeeDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Landlord' }) name: string;
  @ApiProperty({ example: '200000', description: '6 digits' }) sort_code: string;
  @ApiProperty({ example: '31926803' }) account_number: string;
  @ApiProperty({ nullable: true, type: String, example: 'FLAT 2 RENT' }) reference: string | null;
  @ApiProperty({
    enum: ['internal', 'external'],
    description:
      'internal: an account at Protobank (our sort code); external: paid out through the payment scheme',
  })
  type: 'internal' | 'external';
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class PayeeListDto {
  @ApiProperty({ type: [PayeeDto] }) data: PayeeDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class DeletedPayeeDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: true }) deleted: true;
  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'Active standing orders to this payee, now cancelled',
  })
  cancelled_standing_orders: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Scheduled payments to this payee, now cancelled',
  })
  cancelled_scheduled_payments: number;
}
