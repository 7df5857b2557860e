import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import { InsightsDto } from './insights.dto';
import { InsightsService } from './insights.service';
import { AnalyticsReadLimit } from '../read-limit';

@ApiTags('analytics')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('analytics')
export class InsightsController {
  constructor(private readonly insights: InsightsService) {}

  @Get('insights')
  @AnalyticsReadLimit()
  @ApiOperation({
    summary: 'This month against last by category, your largest payments out, payees you pay regularly',
    description:
      "Always the caller's own accounts, per currency; months are calendar months of bank days (BANK_TIME_ZONE).",
  })
  @ApiOkResponse({ type: InsightsDto })
  get(@CurrentCaller() caller: Caller): Promise<InsightsDto> {
    return this.insights.insights(caller.user_id);
  }
}
