import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUuid, PageQuery } from '@protobank/platform';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { CATEGORIES } from '../preferences/preference-rules';

export class NotificationListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'true: unread only' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'unread must be true or false' })
  unread?: boolean;
}

export class NotificationIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

export class NotificationDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: CATEGORIES, example: 'transactions' }) category: string;
  @ApiProperty({ example: 'transaction.sent' }) type: string;
  @ApiProperty({ example: 'Money sent' }) title: string;
  @ApiProperty({ example: 'You sent £25.50 to Bob Smith' }) body: string;
  @ApiProperty({
    example: { transaction_id: '5b0c…', kind: 'transfer', amount: 2550, currency: 'GBP' },
    description: 'Ids and figures behind the text; amounts in minor units',
  })
  data: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) read_at: string | null;
}

export class NotificationListDto {
  @ApiProperty({ type: [NotificationDto] }) data: NotificationDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
  @ApiProperty({ type: 'integer', example: 3, description: 'All unread notifications, not just this page' })
  unread_count: number;
}

export class UnreadCountDto {
  @ApiProperty({ type: 'integer', example: 3 }) unread_count: number;
}

export class ReadAllDto {
  @ApiProperty({ type: 'integer', example: 3, description: 'How many were unread' }) marked: number;
  @ApiProperty({ type: 'integer', example: 0 }) unread_count: number;
}
