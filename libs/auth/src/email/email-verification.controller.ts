import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, RateLimit, type Caller } from '@protobank/platform';
import { ConfirmEmailDto, EmailCodeSentDto, EmailStatusDto } from './email.dto';
import { EMAIL_CODES_PER_IP_HOUR, EmailVerification } from './email-verification.service';

@ApiTags('auth')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('auth/email')
export class EmailVerificationController {
  constructor(private readonly emails: EmailVerification) {}

  @Get()
  @ApiOperation({
    summary: "The account's e-mail address and whether it is verified",
    description: 'Password-reset e-mails go only to an address its owner confirmed with a code.',
  })
  @ApiOkResponse({ type: EmailStatusDto })
  status(@CurrentCaller() caller: Caller): Promise<EmailStatusDto> {
    return this.emails.status(caller.user_id);
  }

  @Post('verification')
  @HttpCode(202)
  @RateLimit({ bucket: 'email-code-ip', limit: EMAIL_CODES_PER_IP_HOUR, windowSeconds: 3600, by: 'ip' })
  @ApiOperation({
    summary: "E-mail a six-digit code to the account's address",
    description:
      'Typed back at POST /auth/email/verification/confirm by the signed-in user. The code lasts 30 minutes and five tries; a new one replaces it. One code a minute and five a day per user, 30 an hour per client address.',
  })
  @ApiAcceptedResponse({ type: EmailCodeSentDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'email_already_verified, email_verification_not_offered (no mail relay is configured)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'email_rejected: the relay refused the address (a 5xx; nothing was sent, and the day is not counted); names email',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'code_sent_recently, too_many_codes, rate_limited (Retry-After)',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: 'mail_unavailable: the relay did not take it in time; the code may still arrive',
  })
  send(@CurrentCaller() caller: Caller): Promise<EmailCodeSentDto> {
    return this.emails.sendCode(caller.user_id);
  }

  @Post('verification/confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Confirm the address with the code it was sent',
    description: 'A wrong code spends one of its five tries; the fifth voids it.',
  })
  @ApiOkResponse({ type: EmailStatusDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'code is not six digits' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'code_invalid (wrong; the tries left), code_expired (none waiting); both name code',
  })
  confirm(@CurrentCaller() caller: Caller, @Body() body: ConfirmEmailDto): Promise<EmailStatusDto> {
    return this.emails.confirm(caller.user_id, body.code);
  }
}
