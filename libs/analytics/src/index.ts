export { AnalyticsModule } from './analytics.module';
export { RebuildService } from './rebuild/rebuild.service';
