import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  CurrentCaller,
  ErrorResponseDto,
  OptionalStaffReasonDto,
  Roles,
  type Caller,
} from '@protobank/platform';
import { RebuildDto, RebuildIdParams } from './rebuild.dto';
import { RebuildService } from './rebuild.service';

@ApiTags('analytics (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff' })
@Controller('admin/analytics')
@Roles('staff', 'admin')
export class RebuildController {
  constructor(private readonly rebuilds: RebuildService) {}

  @Post('rebuild')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Rebuild the movements, rollups and cache of analytics from the ledger, in the background',
    description:
      'Answers at once with the running rebuild; follow it with GET /admin/analytics/rebuilds/{id}. ' +
      'Analytics keeps answering (with the figures from before) and consuming events meanwhile. ' +
      'Audited (analytics_rebuild_started, with the reason, if given).',
  })
  @ApiAcceptedResponse({ type: RebuildDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'rebuild_running' })
  start(@CurrentCaller() caller: Caller, @Body() body: OptionalStaffReasonDto): Promise<RebuildDto> {
    return this.rebuilds.start(caller, body.reason ?? null);
  }

  @Get('rebuilds/:id')
  @ApiOperation({ summary: 'Where a rebuild stands: running, completed or failed (with why)' })
  @ApiOkResponse({ type: RebuildDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param() params: RebuildIdParams): Promise<RebuildDto> {
    return this.rebuilds.get(params.id);
  }
}
