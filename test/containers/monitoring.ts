/**
 * Monitoring in the split stack's containers: Prometheus (docker/prometheus mounted as is, the
 * metrics_token secret) scrapes every target of its config, the eight apps included, and has loaded the
 * alert rules; Alertmanager is ready. Prometheus publishes no port, so its API is read from inside its
 * container (`docker exec … wget`, as its healthcheck does). Grafana has no stand-in image here (no Debian
 * package, no registry): the suite starts every service but grafana (GRAFANA_SERVICE_LEFT_OUT), and the
 * dashboards are checked against a real Prometheus by test/observability.e2e-spec.ts instead.
 */
import { execFileSync } from 'node:child_process';
import type { ComposeStack } from './compose';

export const GRAFANA_SERVICE_LEFT_OUT = 'grafana';

/** The services `up` starts: all of the file's but grafana (Compose v1: `up -d <services>`). */
export function servicesWithoutGrafana(stack: ComposeStack): string[] {
  return stack
    .compose(['config', '--services'])
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== GRAFANA_SERVICE_LEFT_OUT);
}

function apiInside<T>(stack: ComposeStack, service: string, port: number, apiPath: string): T {
  const out = execFileSync(
    'docker',
    ['exec', stack.state(service)!.id, 'wget', '-q', '-O', '-', `http://127.0.0.1:${port}${apiPath}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return (JSON.parse(out) as { data: T }).data;
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

/** Tests of Prometheus and Alertmanager in the running stack; `apps` are the eight services. */
export function monitoringInContainers(get: () => ComposeStack, apps: string[]): void {
  it('runs Prometheus and Alertmanager healthy, and Prometheus reports every scrape target up', async () => {
    const stack = get();
    await stack.waitFor('prometheus', (s) => s.health === 'healthy', 'prometheus healthy', 120_000);
    await stack.waitFor('alertmanager', (s) => s.health === 'healthy', 'alertmanager healthy', 120_000);
    let targets: Target[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      targets = apiInside<{ activeTargets: Target[] }>(
        stack,
        'prometheus',
        9090,
        '/api/v1/targets',
      ).activeTargets;
      if (targets.length && targets.every((t) => t.health === 'up')) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const seen = targets.map((t) => ({
      target: `${t.labels.job}/${t.labels.service}`,
      health: t.health,
      error: t.lastError,
    }));
    expect(seen.sort((a, b) => a.target.localeCompare(b.target))).toEqual(
      [...apps.map((app) => `protobank/${app}`), 'prometheus/prometheus', 'alertmanager/alertmanager']
        .sort()
        .map((target) => ({ target, health: 'up', error: '' })),
    );
    const rules = apiInside<{ groups: { rules: { type: string; name: string }[] }[] }>(
      stack,
      'prometheus',
      9090,
      '/api/v1/rules',
    );
    const alerts = rules.groups.flatMap((g) =>
      g.rules.filter((r) => r.type === 'alerting').map((r) => r.name),
    );
    expect(alerts).toContain('ServiceDown');
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    // Prometheus found Alertmanager through its config.
    const managers = apiInside<{ activeAlertmanagers: { url: string }[] }>(
      stack,
      'prometheus',
      9090,
      '/api/v1/alertmanagers',
    );
    expect(managers.activeAlertmanagers.map((m) => m.url)).toEqual([
      'http://alertmanager:9093/api/v2/alerts',
    ]);
    // ...and sends it alerts: Watchdog, always firing, is at Alertmanager (v2 answers a bare array).
    const watchdogDeadline = Date.now() + 120_000;
    for (;;) {
      const active = JSON.parse(
        execFileSync(
          'docker',
          [
            'exec',
            stack.state('prometheus')!.id,
            'wget',
            '-q',
            '-O',
            '-',
            'http://alertmanager:9093/api/v2/alerts',
          ],
          { encoding: 'utf8', timeout: 30_000 },
        ),
      ) as { labels: Record<string, string> }[];
      if (active.some((a) => a.labels.alertname === 'Watchdog')) break;
      if (Date.now() > watchdogDeadline) throw new Error('Watchdog never reached Alertmanager');
      await new Promise((r) => setTimeout(r, 2000));
    }
    process.stdout.write(
      `[containers] prometheus: ${targets.length} targets up, ${alerts.length} alert rules loaded\n`,
    );
  }, 300_000);
}
