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
export class ColleagueResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Post(':id/password-reset')
  @Roles('admin')
  @HttpCode(202)
  @ApiOperation({
    summary: "E-mail a staff member's or another admin's verified address a password-reset link",
    description:
      'For a colleague who forgot their password, once the admin has identified them by other means: staff ' +
      'and admin passwords are not reset by e-mail on their own asking. The e-mail and its token are those ' +
      "of POST /auth/password/reset (once, 30 minutes, the address's one a minute and ten a day), and the " +
      'request is audited (password_reset_requested, with the reason). Customers reset their own.',
  })
  @ApiAcceptedResponse({ type: ResetRequestedDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed (id, reason)' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'forbidden (not an admin), own_user' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'customer_self_service, user_disabled, email_not_verified, password_reset_not_offered (no SMTP server)',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited (Retry-After)' })
  request(
    @CurrentCaller() caller: Caller,
    @Param() params: UserIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<ResetRequestedDto> {
    return this.resets.requestForColleague(caller, params.id, body.reason);
  }
}
