import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, RateLimit, type Caller } from '@protobank/platform';
import { PHONE_CODES_PER_IP_HOUR } from './phone-code';
import { ConfirmPhoneDto, PhoneCodeSentDto, PhoneStatusDto } from './phone.dto';
import { PhoneVerification } from './phone-verification.service';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('notifications/phone')
export class PhoneVerificationController {
  constructor(private readonly phones: PhoneVerification) {}

  @Get()
  @ApiOperation({
    summary: "Whether the profile's phone number is verified for SMS notices",
    description: 'SMS notices go only to a number its owner confirmed with a code (a changed number is not).',
  })
  @ApiOkResponse({ type: PhoneStatusDto })
  status(@CurrentCaller() caller: Caller): Promise<PhoneStatusDto> {
    return this.phones.status(caller.user_id);
  }

  @Post('verification')
  @HttpCode(202)
  // Each code is a paid text: per client address too, beside the per-user and per-number caps.
  @RateLimit({ bucket: 'phone-code-ip', limit: PHONE_CODES_PER_IP_HOUR, windowSeconds: 3600, by: 'ip' })
  @ApiOperation({
    summary: "Text a six-digit code to the profile's phone number",
    description:
      'Needs a verified identity (KYC). The code lasts 10 minutes and five tries; a new one replaces it. One code a minute, five a day per user and per number, 60 an hour per client address.',
  })
  @ApiAcceptedResponse({ type: PhoneCodeSentDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'kyc_required' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'no_phone, phone_already_verified, sms_not_offered (no SMS provider is configured)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'phone_invalid (the profile holds no E.164 number), phone_rejected (the provider refused the number with 400 or 422; nothing was sent, and the day is not counted); both name phone',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'code_sent_recently, too_many_codes, rate_limited (Retry-After)',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'sms_unavailable: the SMS provider did not answer in time, answered 5xx, or refused us: the code may still arrive and works if it does',
  })
  sendCode(@CurrentCaller() caller: Caller): Promise<PhoneCodeSentDto> {
    return this.phones.sendCode(caller.user_id);
  }

  @Post('verification/confirm')
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm the code: the number is then verified for SMS notices' })
  @ApiOkResponse({ type: PhoneStatusDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'code_invalid (tries left in details), code_expired (none waiting: ask for a new one)',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'phone_changed since the code was sent' })
  confirm(@CurrentCaller() caller: Caller, @Body() body: ConfirmPhoneDto): Promise<PhoneStatusDto> {
    return this.phones.confirm(caller.user_id, body.code);
  }
}
