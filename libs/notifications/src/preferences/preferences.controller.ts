import { Body, Controller, Get, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import { LOCKED_ON, type Preferences } from './preference-rules';
import { PreferencesDto, UpdatePreferencesDto } from './preferences.dto';
import { PreferencesService } from './preferences.service';

const view = (prefs: Preferences) => ({ ...prefs, locked: LOCKED_ON });

@ApiTags('notifications')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('notifications/preferences')
export class PreferencesController {
  constructor(private readonly preferences: PreferencesService) {}

  @Get()
  @ApiOperation({ summary: 'Which channels each category of notification goes out on' })
  @ApiOkResponse({ type: PreferencesDto })
  async get(@CurrentCaller() caller: Caller) {
    return view(await this.preferences.get(caller.user_id));
  }

  @Put()
  @ApiOperation({
    summary: 'Switch channels on or off per category',
    description:
      'Only the categories and channels given change. Security notices stay on in the app and by e-mail.',
  })
  @ApiOkResponse({ type: PreferencesDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'preference_locked' })
  async update(@CurrentCaller() caller: Caller, @Body() body: UpdatePreferencesDto) {
    return view(await this.preferences.update(caller.user_id, body));
  }
}
