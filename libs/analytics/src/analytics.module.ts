import { Module } from '@nestjs/common';
import { inboxFor, outboxFor } from '@protobank/platform';
import { TransactionCreatedHandler } from './events/transaction-created.handler';
import { InsightsController } from './insights/insights.controller';
import { InsightsService } from './insights/insights.service';
import { RebuildController } from './rebuild/rebuild.controller';
import { RebuildRun } from './rebuild/rebuild-run';
import { RebuildService } from './rebuild/rebuild.service';
import { MonthlyReportController } from './reports/monthly-report.controller';
import { MonthlyReportService } from './reports/monthly-report.service';
import { SpendingController } from './spending/spending.controller';
import { SpendingService } from './spending/spending.service';
import { DailySummaries } from './summaries/daily-summaries.service';
import { CacheFloorAtBoot } from './summaries/cache-floor-at-boot';
import { SummaryCache } from './summaries/summary-cache';

/**
 * Where customers' money goes: consumes transaction.created into movements (its own read model), daily
 * rollups in Postgres and day summaries in Redis (`analytics:{user_id}:daily`); serves spending,
 * insights and monthly reports of the caller's own money, and staff rebuilds from the ledger.
 */
@Module({
  controllers: [
    SpendingController,
    InsightsController,
    MonthlyReportController,
    RebuildController,
    TransactionCreatedHandler, // events: Nest finds @EventPattern (our @OnEvent) on controllers only
  ],
  providers: [
    inboxFor('analytics'),
    // Staff actions (a rebuild started) go to the audit trail as staff_action.recorded.
    outboxFor('analytics'),
    SummaryCache,
    CacheFloorAtBoot,
    DailySummaries,
    SpendingService,
    InsightsService,
    MonthlyReportService,
    RebuildService,
    RebuildRun,
  ],
})
export class AnalyticsModule {}
