import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class EmailStatusDto {
  @ApiProperty({ example: 'alice@example.com', description: 'The address the account was registered with' })
  email: string;
  @ApiProperty({
    example: true,
    description:
      'Whether its owner confirmed a code sent to it: password-reset e-mails go only to a verified address',
  })
  verified: boolean;
  @ApiProperty({ example: '2026-12-05T10:00:00.000Z', nullable: true, type: String, format: 'date-time' })
  verified_at: string | null;
}

export class EmailCodeSentDto {
  @ApiProperty({ example: 'alice@example.com', description: 'Where the code went' })
  email: string;
  @ApiProperty({
    type: 'integer',
    example: 1800,
    description: 'Seconds the code can be used for (five tries)',
  })
  expires_in: number;
  @ApiProperty({ type: 'integer', example: 60, description: 'Seconds before another code can be asked for' })
  resend_after: number;
}

export class ConfirmEmailDto {
  @ApiProperty({ example: '123456', description: 'The six digits of the e-mail' })
  @Matches(/^\d{6}$/, { message: 'code must be the six digits of the e-mail' })
  code: string;
}
