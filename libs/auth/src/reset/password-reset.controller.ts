import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto, Public, RateLimit, type HttpRequest } from '@protobank/platform';
import { LoginResponseDto } from '../sessions/sessions.dto';
import type { LoginResult } from '../sessions/sessions.service';
import { PasswordResetService } from './password-reset.service';
import { ConfirmResetDto, RequestResetDto, ResetRequestedDto } from './reset.dto';

const metaOf = (req: HttpRequest) => ({ ip: req.ip, user_agent: req.headers['user-agent'] });

@ApiTags('auth')
@Controller('auth/password/reset')
export class PasswordResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Post()
  @Public()
  @HttpCode(202)
  @RateLimit({ bucket: 'password-reset-ip', limit: 30, windowSeconds: 3600, by: 'ip' })
  @ApiOperation({
    summary: 'Forgot your password: e-mail a one-time reset link to the address',
    description:
      'The same 202 whether or not an account has the address (only an active, enabled customer account ' +
      'whose address is verified (POST /auth/email/verification) is sent anything: staff and admin ' +
      'passwords are reset by e-mail only when an admin has it sent). The e-mail carries a token that ' +
      'works once, for 30 minutes, and only until the password changes or all sessions end; asking again ' +
      'replaces it. One ' +
      'e-mail a minute and ten a day per address, or with a device_token of the account one a minute and ' +
      'five a day per device; 30 asks an hour per client address.',
  })
  @ApiAcceptedResponse({ type: ResetRequestedDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'password_reset_not_offered: no SMTP server is configured here',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited (Retry-After)' })
  request(@Body() body: RequestResetDto, @Req() req: HttpRequest): Promise<ResetRequestedDto> {
    return this.resets.request(body.email, metaOf(req), body.device_token);
  }

  @Post('confirm')
  @Public()
  @HttpCode(200)
  @RateLimit({ bucket: 'password-reset-confirm-ip', limit: 30, windowSeconds: 3600, by: 'ip' })
  @ApiOperation({
    summary:
      "Set a new password with a reset e-mail's token: every session ends, and this answer is a new one",
    description:
      'As a password change: the new password follows the registration rules; every session ends and the ' +
      'devices that knew the old password are forgotten; the owner is told (a security notice). Answered as ' +
      'a login. The token works once; a weak password leaves it usable.',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'validation_failed (a malformed token), or weak_password naming new_password',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'token_invalid naming token: used, replaced by a newer e-mail, expired, or since it was sent the ' +
      "password changed or all the user's sessions ended (a disable, a role change, a logout-all)",
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited (Retry-After)' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: 'auth_busy (nothing changed), or sessions_not_ended / log_in_again as for a password change',
  })
  @ApiInternalServerErrorResponse({
    type: ErrorResponseDto,
    description:
      'internal_error: the new password could not be set (a database failure); the token works again for ' +
      'the time it had left, unless a newer e-mail replaced it: try the link again',
  })
  confirm(@Body() body: ConfirmResetDto, @Req() req: HttpRequest): Promise<LoginResult> {
    return this.resets.confirm(body.token, body.new_password, metaOf(req));
  }
}
