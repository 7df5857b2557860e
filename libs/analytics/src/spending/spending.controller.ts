import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import { SpendingDto, SpendingQuery } from './spending.dto';
import { SpendingService } from './spending.service';
import { AnalyticsReadLimit } from '../read-limit';

@ApiTags('analytics')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('analytics')
export class SpendingController {
  constructor(private readonly spending: SpendingService) {}

  @Get('spending')
  @AnalyticsReadLimit()
  @ApiOperation({
    summary: 'Your money in and out over a range: totals, by category, by merchant, top merchants, a series',
    description:
      "Always the caller's own accounts. Grouped by currency (never summed across currencies); amounts in " +
      'minor units. Dates are bank days (BANK_TIME_ZONE, the days statements use); a missing `from`/`to` is the edge of the current period. An ' +
      'own-account transfer counts as money out and money in (category internal_transfer).',
  })
  @ApiOkResponse({ type: SpendingDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'validation_failed (period, from, to) or range_too_long (to: over 366 days)',
  })
  get(@CurrentCaller() caller: Caller, @Query() query: SpendingQuery): Promise<SpendingDto> {
    return this.spending.spending(caller.user_id, query);
  }
}
