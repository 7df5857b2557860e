import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../security/decorators';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics: HTTP durations, process, outbox backlog' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    schema: { type: 'string', example: 'http_request_duration_seconds_bucket{...} 3' },
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
