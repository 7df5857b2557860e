import { applyDecorators } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ErrorResponseDto, RateLimit } from '@protobank/platform';

/** Reports one customer may read a minute, spending, insights and monthly reports together. */
export const ANALYTICS_READS_PER_MINUTE = 120;

/**
 * The analytics reads' per-customer limit (429 rate_limited with Retry-After past it), as statements have
 * theirs: each report aggregates a month or more of movements (tens of milliseconds of the app's and the
 * database's time, where most reads take well under one), so one customer's loop of them could hold the
 * cores every other customer needs (helper-158). A screen showing all three stays far below it.
 */
export const AnalyticsReadLimit = () =>
  applyDecorators(
    RateLimit({ bucket: 'analytics', limit: ANALYTICS_READS_PER_MINUTE, windowSeconds: 60, by: 'user' }),
    ApiTooManyRequestsResponse({
      type: ErrorResponseDto,
      description: `rate_limited: more than ${ANALYTICS_READS_PER_MINUTE} analytics reports a minute; see Retry-After`,
    }),
  );
