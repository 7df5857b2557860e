import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { DeclaredInputAfterOwnGuard } from '../http/declared-input';
import { ErrorResponseDto, JSON_ERROR } from '../http/error-response.dto';
import { Public } from '../security/decorators';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
@ApiExtraModels(ErrorResponseDto)
@Controller('metrics')
// Not an access token: the scraper's own METRICS_TOKEN (see MetricsTokenGuard).
@Public()
@UseGuards(MetricsTokenGuard, DeclaredInputAfterOwnGuard)
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics: HTTP durations, process, outbox backlog, business counters',
    description:
      'Needs `Authorization: Bearer <METRICS_TOKEN>` when the app has one (always in production). ' +
      'Not routed by the edge (nginx, scripts/edge.js): scrape each app on its own port.',
  })
  @ApiSecurity('metrics')
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    schema: { type: 'string', example: 'http_request_duration_seconds_bucket{...} 3' },
  })
  @ApiUnauthorizedResponse({ ...JSON_ERROR, description: 'No metrics token, or a wrong one' })
  @ApiBadRequestResponse({
    ...JSON_ERROR,
    description: 'validation_failed: a query parameter (it takes none)',
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
