import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { UserView } from '@protobank/contracts';
import { CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import { UserDto } from './user.dto';
import { ProfilesService } from './profiles.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class MeController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get('me')
  @ApiOperation({ summary: "The caller's profile" })
  @ApiOkResponse({ type: UserDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  me(@CurrentCaller() caller: Caller): Promise<UserView> {
    return this.profiles.getProfile(caller.user_id);
  }
}
