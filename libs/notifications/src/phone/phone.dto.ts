import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class PhoneStatusDto {
  @ApiProperty({
    example: '+447700900123',
    nullable: true,
    type: String,
    description: "The profile's number (PATCH /users/me)",
  })
  phone: string | null;
  @ApiProperty({
    example: true,
    description: 'Whether its owner confirmed a code sent to it: SMS notices go only to a verified number',
  })
  verified: boolean;
  @ApiProperty({ example: '2026-12-05T10:00:00.000Z', nullable: true, type: String, format: 'date-time' })
  verified_at: string | null;
}

export class PhoneCodeSentDto {
  @ApiProperty({ example: '+447700900123', description: 'Where the code went' })
  phone: string;
  @ApiProperty({
    type: 'integer',
    example: 600,
    description: 'Seconds the code can be used for (five tries)',
  })
  expires_in: number;
  @ApiProperty({ type: 'integer', example: 60, description: 'Seconds before another code can be asked for' })
  resend_after: number;
}

export class ConfirmPhoneDto {
  @ApiProperty({ example: '123456', description: 'The six digits of the text message' })
  @Matches(/^\d{6}$/, { message: 'code must be the six digits of the text message' })
  code: string;
}
