import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmailAddress } from '@protobank/platform';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { DEVICE_TOKEN_PATTERN } from '../sessions/device-tokens';
import { OPAQUE_TOKEN_PATTERN } from '../sessions/opaque-token';

export class RequestResetDto {
  @ApiProperty({
    example: 'alice@example.com',
    description: 'The address the account was registered with (normalised as at registration)',
  })
  @IsEmailAddress()
  email: string;

  @ApiPropertyOptional({
    example: '8a1d4f7e-2b3c-4d5e-9f60-718293a4b5c6.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1',
    description:
      "The device_token this client's earlier logins to the account returned, if it has one: its asks then " +
      "count against the device (one a minute, five a day), not against the address's allowance, which " +
      'anyone can use up.',
  })
  @IsOptional()
  @IsString()
  @Matches(DEVICE_TOKEN_PATTERN, { message: 'device_token must be a device token from an earlier login' })
  device_token?: string;
}

export class ResetRequestedDto {
  @ApiProperty({
    type: 'integer',
    example: 1800,
    description:
      'Seconds the e-mailed token will work for. The same answer whether or not an account has the address.',
  })
  expires_in: number;
}

export class ConfirmResetDto {
  @ApiProperty({
    example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1',
    description: 'The token of the reset e-mail (the part of its link after #token=)',
  })
  @IsString()
  @Matches(OPAQUE_TOKEN_PATTERN, { message: 'token must be the token of a reset e-mail' })
  token: string;

  @ApiProperty({
    example: 'a different long passphrase',
    minLength: 12,
    maxLength: 128,
    description: "The registration policy's rules",
  })
  @IsString()
  @Length(12, 128)
  new_password: string;
}
