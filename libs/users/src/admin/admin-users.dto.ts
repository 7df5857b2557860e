import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsReason, IsUuid, Optional, PageQuery, PeriodPageQuery, UserIdParams } from '@protobank/platform';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { AUDIT_RESOURCE_TYPES, STAFF_ACTIONS, UserDto, type StaffAction } from '@protobank/contracts';

export { PageQuery, UserIdParams };

export class ListUsersQuery extends PageQuery {
  @ApiPropertyOptional({
    description:
      "Part of an e-mail, a name or its Latin spelling verified with KYC (li xiaolong finds 李小龍), any case; in names accents and typographic apostrophes aside (zoe o'neil finds Zoë O’Neil)",
    example: 'alice',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  query?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({
    enum: ['customer', 'staff', 'admin'],
    example: 'staff',
    description:
      'Ends every session of the user (their tokens carry the role), also when it is the role they have: ' +
      'repeating a change after a 503 ends them at once. An admin cannot change their own user (422).',
  })
  @Optional()
  @IsIn(['customer', 'staff', 'admin'])
  role?: 'customer' | 'staff' | 'admin';

  @ApiPropertyOptional({
    description: 'true ends every session of the user and refuses their logins',
    example: true,
  })
  @Optional()
  @IsBoolean()
  disabled?: boolean;

  @ApiProperty({
    minLength: 3,
    maxLength: 500,
    example: 'Promoted to the KYC review team',
    description: 'Why: kept in the audit trail, never shown to the user',
  })
  @IsReason()
  reason: string;
}

export class AdminUserDto extends UserDto {
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description:
      'The verified name in Latin letters as the identity document spells it (KYC); null when none was given',
  })
  latin_name: string | null;
  @ApiProperty({ example: false })
  disabled: boolean;
}

export class UserPageDto {
  @ApiProperty({ type: [AdminUserDto] })
  data: AdminUserDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}

/** The two kinds of audit entry: what staff did, and what they read (customer_data_viewed). */
export const AUDIT_KINDS = ['actions', 'reads'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** Filters of the audit trail; `from`/`to` the period in which the actions happened (created_at). */
export class AuditQuery extends PeriodPageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only the actions of this staff member' })
  @IsOptional()
  @IsUuid()
  actor_id?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only the actions affecting this user' })
  @IsOptional()
  @IsUuid()
  target_user_id?: string;

  @ApiPropertyOptional({ enum: STAFF_ACTIONS, description: 'Only this action' })
  @IsOptional()
  @IsIn(STAFF_ACTIONS)
  action?: StaffAction;

  @ApiPropertyOptional({
    enum: AUDIT_KINDS,
    description:
      "actions: only what staff did (every action but customer_data_viewed); reads: only their reads of users' data (customer_data_viewed)",
  })
  @IsOptional()
  @IsIn(AUDIT_KINDS)
  kind?: AuditKind;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only the actions on this resource (an account, a transaction, …)',
  })
  @IsOptional()
  @IsUuid()
  resource_id?: string;
}

export class AuditEntryDto {
  @ApiProperty({ format: 'uuid', example: '5d7c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d' }) id: string;
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' }) actor_id: string;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['staff', 'admin'],
    example: 'staff',
    description: "The actor's role when they acted (null for entries older than this field)",
  })
  actor_role: string | null;
  @ApiProperty({ enum: STAFF_ACTIONS, example: 'account_frozen' })
  action: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    example: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    description: 'The user affected (the owner of the account, the user changed); null when none',
  })
  target_user_id: string | null;
  @ApiProperty({ enum: AUDIT_RESOURCE_TYPES, example: 'account' }) resource_type: string;
  @ApiProperty({ format: 'uuid', example: '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a' }) resource_id: string;
  @ApiProperty({ nullable: true, type: Object, example: { status: 'active' } })
  before: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: Object, example: { status: 'frozen' } })
  after: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: String, example: 'Suspected account takeover' })
  reason: string | null;
  @ApiProperty({
    example: {},
    description:
      'Further context: a role change also as from/to; an approved duplicate document, the other users',
  })
  details: Record<string, unknown>;
  @ApiProperty({
    format: 'date-time',
    example: '2026-11-21T09:30:00.000Z',
    description: 'When the action happened',
  })
  created_at: string;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  data: AuditEntryDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}
