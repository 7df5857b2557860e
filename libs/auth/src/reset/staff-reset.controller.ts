import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  CurrentCaller,
  ErrorResponseDto,
  Roles,
  StaffReasonDto,
  UserIdParams,
  type Caller,
} from '@protobank/platform';
import { PasswordResetService } from './password-reset.service';
import { ResetRequestedDto } from './reset.dto';

@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('admin/auth/users')
export class StaffResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Post(':id/password-reset')
  @Roles('staff', 'admin')
  @HttpCode(202)
  @ApiOperation({
    summary: "E-mail a user's address a password-reset link on their behalf",
    description:
      'Once the user has been identified by other means (a call, a branch): a customer who cannot ask ' +
      'themselves (an address never verified, or its e-mails of the day used up by strangers; confirm the ' +
      'address with them), or, by an admin only, a staff member or another admin, whose passwords are not ' +
      'reset by e-mail on their own asking (their address must be verified). The e-mail and its token are ' +
      'those of POST /auth/password/reset (once, 30 minutes; the link stops working if its sender is ' +
      'disabled, demoted or logged out everywhere first, even if that is undone), one a minute and five a ' +
      'day per user, and the request is audited ' +
      '(password_reset_requested, with the reason).',
  })
  @ApiAcceptedResponse({ type: ResetRequestedDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed (id, reason)' })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: 'forbidden (not staff), own_user, colleague_account (a staff member asking for a colleague)',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      "user_disabled, email_not_verified (a colleague's), password_reset_not_offered (no SMTP server)",
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited (Retry-After)' })
  request(
    @CurrentCaller() caller: Caller,
    @Param() params: UserIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<ResetRequestedDto> {
    return this.resets.requestForUser(caller, params.id, body.reason);
  }
}
