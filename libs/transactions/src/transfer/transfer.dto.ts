import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsAmount, IsCurrency, IsPlainText, IsUuid, Optional } from '@protobank/platform';
import type { Currency } from '@protobank/contracts';
import { Matches } from 'class-validator';

export class TransferDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Your account the money leaves' })
  @IsUuid()
  from_account_id: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The receiving account by id (or give to_account_number)',
  })
  @Optional()
  @IsUuid()
  to_account_id?: string;

  @ApiPropertyOptional({
    example: '48219377',
    description: 'The receiving account by its 8-digit number at our sort code (or give to_account_id)',
  })
  @Optional()
  @Matches(/^\d{8}$/, { message: '$property must be 8 digits' })
  to_account_number?: string;

  @IsAmount()
  amount: number;

  @IsCurrency()
  currency: Currency;

  @ApiPropertyOptional({
    maxLength: 140,
    example: 'Rent November',
    description:
      'Shown to the payee; no control, bidirectional or invisible characters (trimmed, NFC; 1 to 140 characters)',
  })
  @Optional()
  @IsPlainText(1, 140)
  reference?: string;
}
