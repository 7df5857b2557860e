import { metricValue, scrapeMetrics } from './test-env';
import type { Running } from './topologies';

/**
 * How many deliveries of `consumer`'s events its inbox found handled before (inbox_events_total with
 * outcome duplicate), read where the consumer runs: `service`'s own app in split mode, the one process
 * otherwise.
 */
export async function inboxDuplicates(running: Running, service: string, consumer: string): Promise<number> {
  const url = running.services[service] ?? running.baseUrl;
  return metricValue(await scrapeMetrics(running.t, url), 'inbox_events_total', {
    consumer,
    outcome: 'duplicate',
  });
}
