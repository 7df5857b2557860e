import { ApiProperty } from '@nestjs/swagger';

const MINOR = 'Minor units of the currency, a JSON integer';

export class CategoryTotalDto {
  @ApiProperty({ example: 'groceries' }) category: string;
  @ApiProperty({ type: 'integer', example: 0, description: MINOR }) money_in: number;
  @ApiProperty({ type: 'integer', example: 4210, description: MINOR }) money_out: number;
  @ApiProperty({ type: 'integer', example: 3, description: 'Movements' }) count: number;
}

export class MerchantTotalDto {
  @ApiProperty({ example: 'Tesco' }) merchant: string;
  @ApiProperty({ type: 'integer', example: 0, description: `${MINOR} (refunds)` }) money_in: number;
  @ApiProperty({ type: 'integer', example: 4210, description: MINOR }) money_out: number;
  @ApiProperty({ type: 'integer', example: 3 }) count: number;
}

export class SeriesPointDto {
  @ApiProperty({ format: 'date', example: '2026-11-02' }) start: string;
  @ApiProperty({ format: 'date', example: '2026-11-08', description: 'Inclusive' }) end: string;
  @ApiProperty({ type: 'integer', example: 100000, description: MINOR }) money_in: number;
  @ApiProperty({ type: 'integer', example: 7210, description: MINOR }) money_out: number;
  @ApiProperty({ type: 'integer', example: 4 }) count: number;
}

/** Figures in one currency; amounts of different currencies are never added together. */
export class CurrencyTotalsDto {
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({
    type: 'integer',
    example: 100000,
    description: `${MINOR}: money that reached your accounts`,
  })
  money_in: number;
  @ApiProperty({ type: 'integer', example: 7210, description: `${MINOR}: money that left your accounts` })
  money_out: number;
  @ApiProperty({ type: 'integer', example: 92790, description: 'money_in - money_out' }) net: number;
  @ApiProperty({
    type: 'integer',
    example: 4,
    description: 'Movements (an own-account transfer counts twice)',
  })
  count: number;
  @ApiProperty({ type: [CategoryTotalDto], description: 'Most money out first' })
  by_category: CategoryTotalDto[];
  @ApiProperty({ type: [MerchantTotalDto], description: 'Card merchants, most money out first' })
  by_merchant: MerchantTotalDto[];
  @ApiProperty({ type: [MerchantTotalDto], description: 'The five merchants paid most' })
  top_merchants: MerchantTotalDto[];
  @ApiProperty({ type: [SeriesPointDto], description: 'One point per period, empty ones included' })
  series: SeriesPointDto[];
}
