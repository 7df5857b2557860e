import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsDateOrDateTime } from './period';

const LIMIT = 'limit must be a whole number from 1 to 100';

/** `?cursor=&limit=` of every cursor-paged list: limit 1-100, 20 by default. */
export class PageQuery {
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  // Plain decimal digits only: Number() also read 0x10, 1e1, " 5" and 0b1, and 1_0 got three messages.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: LIMIT })
  @Min(1, { message: LIMIT })
  @Max(100, { message: LIMIT })
  limit?: number;
}

/**
 * A page of a list that can be narrowed to a period (period() makes it one: a date is a bank day, an
 * instant is taken as it is; ALL_TIME where neither is given).
 */
export class PeriodPageQuery extends PageQuery {
  @ApiPropertyOptional({
    example: '2026-11-01',
    description: "From this date (its midnight in the bank's time zone) or instant, inclusive",
  })
  @IsOptional()
  @IsDateOrDateTime()
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-30',
    description: "To this date (inclusive, its whole day in the bank's time zone) or instant (exclusive)",
  })
  @IsOptional()
  @IsDateOrDateTime()
  to?: string;
}
