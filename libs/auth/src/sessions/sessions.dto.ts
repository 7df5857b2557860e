import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmailAddress, IsUuid } from '@protobank/platform';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { DEVICE_TOKEN_PATTERN } from './device-tokens';

const DEVICE_TOKEN_EXAMPLE =
  '8a1d4f7e-2b3c-4d5e-9f60-718293a4b5c6.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1';

export class LoginDto {
  @ApiProperty({
    example: 'alice@example.com',
    description: 'Normalised as at registration (NFKC, lower case)',
  })
  @IsEmailAddress()
  email: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 128)
  password: string;

  @ApiPropertyOptional({
    example: DEVICE_TOKEN_EXAMPLE,
    description:
      'The device_token an earlier successful login from this client returned. A login from a device the ' +
      "account knows is not subject to the e-mail's lockout (which anyone can trigger), only to its own.",
  })
  @IsOptional()
  @IsString()
  @Matches(DEVICE_TOKEN_PATTERN, { message: 'device_token must be a device token from an earlier login' })
  device_token?: string;
}

export class RefreshDto {
  @ApiProperty({
    example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b.q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
  })
  @IsString()
  @Length(1, 200)
  refresh_token: string;
}

export class TokenPairDto {
  @ApiProperty({ example: 'eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln' })
  access_token: string;
  @ApiProperty({
    example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b.q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
  })
  refresh_token: string;
  @ApiProperty({ example: 'Bearer' })
  token_type: 'Bearer';
  @ApiProperty({ type: 'integer', example: 900, description: 'Seconds until the access token expires' })
  expires_in: number;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-06T09:30:00.000Z',
    description:
      'Present for PASSWORD_RESET_HOLD_HOURS (24) after a password reset by e-mail: until then this session ' +
      "may not add payees, transfer to accounts other than the customer's own, issue or reveal cards, " +
      'change the phone number or address, re-verify a verified name or date of birth or switch notices off (403 recently_reset). The reset proved only the mailbox.',
  })
  reset_hold_until?: string;
}

export class LoginResponseDto extends TokenPairDto {
  @ApiProperty({
    example: DEVICE_TOKEN_EXAMPLE,
    description:
      "This client's device token for the account: keep it and send it with later logins from this " +
      'client (the same one comes back while it is valid; a new one otherwise).',
  })
  device_token: string;
}

export class SessionDto {
  @ApiProperty({ format: 'uuid', example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b' })
  id: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-21T09:30:00.000Z' })
  created_at: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-21T09:45:00.000Z' })
  last_used_at: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-28T09:30:00.000Z' })
  expires_at: string;
  @ApiProperty({ type: String, example: '203.0.113.7', nullable: true })
  ip: string | null;
  @ApiProperty({ type: String, example: 'Mozilla/5.0', nullable: true })
  user_agent: string | null;
  @ApiProperty({ example: true, description: 'The session of the token making this request' })
  current: boolean;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto] })
  data: SessionDto[];
  @ApiProperty({ example: null, nullable: true, type: String })
  next_cursor: string | null;
}

export class SessionIdParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUuid()
  id: string;
}

export class ChangePasswordDto {
  @ApiProperty({ example: 'correct horse battery staple', description: 'The password now, checked again' })
  @IsString()
  @Length(1, 128)
  current_password: string;

  @ApiProperty({
    example: 'a different long passphrase',
    minLength: 12,
    maxLength: 128,
    description: "The registration policy's rules, and not the current password",
  })
  @IsString()
  @Length(12, 128)
  new_password: string;
}
