import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional, PageQuery } from '@protobank/platform';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { UserDto } from '@protobank/contracts';

export class UserIdParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUUID()
  id: string;
}

export { PageQuery };

export class ListUsersQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Part of an e-mail or a name, any case', example: 'alice' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  query?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ['customer', 'staff', 'admin'], example: 'staff' })
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
}

export class AdminUserDto extends UserDto {
  @ApiProperty({ example: false })
  disabled: boolean;
}

export class UserPageDto {
  @ApiProperty({ type: [AdminUserDto] })
  data: AdminUserDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}

export class AuditEntryDto {
  @ApiProperty({ example: '5d7c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d' }) id: string;
  @ApiProperty({ example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' }) actor_id: string;
  @ApiProperty({
    enum: ['role_changed', 'user_disabled', 'user_enabled', 'kyc_approved', 'kyc_rejected'],
    example: 'role_changed',
  })
  action: string;
  @ApiProperty({ nullable: true, type: String, example: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' })
  target_user_id: string | null;
  @ApiProperty({ example: { from: 'customer', to: 'staff' } }) details: Record<string, unknown>;
  @ApiProperty({ example: '2026-11-21T09:30:00.000Z' }) created_at: string;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  data: AuditEntryDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  next_cursor: string | null;
}
