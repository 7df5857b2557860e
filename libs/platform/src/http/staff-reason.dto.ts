import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsReason } from './plain-text';

/**
 * The body of a staff action that needs nothing but its reason (freeze, unfreeze, block, unblock): one
 * class for every module, so the OpenAPI document has one `StaffReasonDto` schema (two classes of one
 * name would overwrite each other there).
 */
export class StaffReasonDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 500,
    example: 'Suspected account takeover: reported by the customer by phone',
    description: 'Why: kept in the audit trail (GET /admin/audit); not shown to the customer',
  })
  @IsReason()
  reason: string;
}

/**
 * The body of a staff action on no one customer (a sweep run, a delivery retried, an analytics rebuild):
 * the reason is optional, and kept in the audit trail when given. No body is the same as `{}`.
 */
export class OptionalStaffReasonDto {
  @ApiPropertyOptional({
    minLength: 3,
    maxLength: 500,
    example: 'Payments missed during the outage of 3 December',
    description: 'Why: kept in the audit trail (GET /admin/audit)',
  })
  @IsOptional()
  @IsReason()
  reason?: string;
}
