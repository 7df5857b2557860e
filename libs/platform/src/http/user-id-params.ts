import { ApiProperty } from '@nestjs/swagger';
import { IsUuid } from './uuid';

/** The `:id` of a user in an admin route (/admin/users/{id}, /admin/auth/users/{id}/password-reset). */
export class UserIdParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUuid()
  id: string;
}
