import { Body, Controller, Get, Patch } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  assertNoResetHold,
  assertSomethingToChange,
  CurrentCaller,
  ErrorResponseDto,
  type Caller,
} from '@protobank/platform';
import { ProfileDto, UpdateProfileDto } from './profile.dto';
import { ProfilesService } from './profiles.service';

@ApiTags('users')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('users')
export class MeController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get('me')
  @ApiOperation({ summary: "The caller's profile" })
  @ApiOkResponse({ type: ProfileDto })
  me(@CurrentCaller() caller: Caller): Promise<ProfileDto> {
    return this.profiles.profile(caller.user_id);
  }

  @Patch('me')
  @ApiOperation({ summary: "Change the caller's name, date of birth, phone or address" })
  @ApiOkResponse({ type: ProfileDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      'recently_reset: the phone number and the address wait PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail (details name the field)',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'identity_locked: full_name or date_of_birth is verified (or being verified) by KYC; details name the field. Change it with POST /users/me/kyc.',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'underage: a date_of_birth under 18 years ago (details name it)',
  })
  update(@CurrentCaller() caller: Caller, @Body() body: UpdateProfileDto): Promise<ProfileDto> {
    assertSomethingToChange(
      body,
      'nothing to change',
      'give at least one of full_name, date_of_birth, phone, address',
    );
    // Whoever took an account over changes these first, so that the bank's calls and letters reach them.
    if (body.phone !== undefined) assertNoResetHold(caller, 'changing the phone number', 'phone');
    if (body.address !== undefined) assertNoResetHold(caller, 'changing the address', 'address');
    return this.profiles.updateProfile(caller.user_id, body);
  }
}
