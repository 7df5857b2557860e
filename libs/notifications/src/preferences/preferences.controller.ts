import { Body, Controller, Get, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  assertNoResetHold,
  CurrentCaller,
  ErrorResponseDto,
  underResetHold,
  type Caller,
} from '@protobank/platform';
import { LOCKED_ON, type Category, type Channel, type Preferences } from './preference-rules';
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
  async get(@CurrentCaller() caller: Caller): Promise<PreferencesDto> {
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
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      'recently_reset: nothing is switched off for PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail',
  })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'preference_locked' })
  async update(@CurrentCaller() caller: Caller, @Body() body: UpdatePreferencesDto): Promise<PreferencesDto> {
    // After a reset by e-mail the mailbox may be a stranger's: the owner's other channels (SMS, push) are
    // how they hear of it, so a held session switches nothing off. A channel already off may be sent as
    // off (a client saving the whole set, helper-125): only what is on now counts, and nothing is written
    // off, so a channel switched on since this read stays on (helper-128).
    const held = underResetHold(caller);
    if (held) {
      const now = await this.preferences.get(caller.user_id);
      const off = Object.entries(body as Record<string, Record<string, boolean> | undefined>).flatMap(
        ([category, channels]) =>
          Object.entries(channels ?? {})
            .filter(
              ([channel, on]) => on === false && now[category as Category]?.[channel as Channel] !== false,
            )
            .map(([channel]) => `${category}.${channel}`),
      );
      if (off.length > 0) assertNoResetHold(caller, 'switching notices off', off[0]);
    }
    return view(await this.preferences.update(caller.user_id, body, { offWritten: !held }));
  }
}
