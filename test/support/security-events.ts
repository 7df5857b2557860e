import { metricValue, scrapeMetrics } from './test-env';
import type { Running } from './topologies';

/**
 * How many `event` security events `service`'s app has counted (security_events_total, what the alerts
 * watch): the monolith's, or that service's process in split mode.
 */
export async function securityEventsCounted(
  running: Running,
  service: string,
  event: string,
): Promise<number> {
  const url = running.kind === 'split' ? running.services[service] : running.baseUrl;
  return metricValue(await scrapeMetrics(running.t, url), 'security_events_total', { event });
}
