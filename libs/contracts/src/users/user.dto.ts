/** The public view of a user, as routes of auth (registration) and users return it. */
import { ApiProperty } from '@nestjs/swagger';

export class UserDto {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  id: string;
  @ApiProperty({ example: 'alice@example.com' })
  email: string;
  @ApiProperty({ example: 'Alice Jones' })
  full_name: string;
  @ApiProperty({ example: 'customer', enum: ['customer', 'staff', 'admin'] })
  role: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-21T09:30:00.000Z' })
  created_at: string;
}
