import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  CurrentCaller,
  ErrorResponseDto,
  csvWanted,
  type Caller,
  type HttpReply,
  type HttpRequest,
} from '@protobank/platform';
import { monthlyReportCsv } from './monthly-report-csv';
import { MonthlyReportDto, MonthlyReportQuery } from './monthly-report.dto';
import { MonthlyReportService } from './monthly-report.service';
import { AnalyticsReadLimit } from '../read-limit';

@ApiTags('analytics')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('analytics/reports')
export class MonthlyReportController {
  constructor(private readonly reports: MonthlyReportService) {}

  @Get('monthly')
  @AnalyticsReadLimit()
  @ApiOperation({
    summary: 'Your month: totals, by category, by merchant and day by day, per currency',
    description:
      'JSON by default; CSV with `Accept: text/csv` (one row per figure, amounts as exact decimals). ' +
      "Always the caller's own accounts.",
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    type: MonthlyReportDto,
    headers: {
      'Content-Disposition': {
        description: 'CSV only: attachment; filename="analytics-<month>.csv"',
        schema: { type: 'string' },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed (month)' })
  async monthly(
    @CurrentCaller() caller: Caller,
    @Query() query: MonthlyReportQuery,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<MonthlyReportDto | string> {
    const report = await this.reports.report(caller.user_id, query);
    if (!csvWanted(req, res)) return report;
    void res.header('Content-Type', 'text/csv; charset=utf-8');
    void res.header('Content-Disposition', `attachment; filename="analytics-${report.month}.csv"`);
    return monthlyReportCsv(report);
  }
}
