import { ApiProperty } from '@nestjs/swagger';
import { IsPlainText } from './plain-text';

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
  @IsPlainText(3, 500)
  reason: string;
}
