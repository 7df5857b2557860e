/**
 * The monitoring files as committed: Prometheus's config and rules pass promtool (Debian's `prometheus`
 * package), every alert has its promtool unit tests (docker/prometheus/tests) and its runbook paragraph,
 * Alertmanager's config passes amtool, and every Grafana dashboard queries the provisioned data source.
 * test/observability.e2e-spec.ts runs them against the split topology.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ALERTMANAGER_CONFIG,
  BIN,
  dashboards,
  panelsOf,
  PROMETHEUS_CONFIG,
  PROMETHEUS_DIR,
  ROOT,
} from './support/monitoring';

const RULES_DIR = path.join(PROMETHEUS_DIR, 'rules');
const TESTS_DIR = path.join(PROMETHEUS_DIR, 'tests');
const RUNBOOK = path.join(ROOT, 'docs/runbook.md');
const GRAFANA = path.join(ROOT, 'docker/grafana');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
const alertRules = (): Rule[] =>
  yamlFiles(RULES_DIR).flatMap((file) =>
    (parseYaml(readFileSync(file, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) =>
      g.rules.filter((r) => r.alert),
    ),
  );

/** Runs a tool, failing with its output; a missing binary says which Debian package to install. */
function tool(bin: string, args: string[], opts: { cwd?: string } = {}): string {
  const res = spawnSync(bin, args, { encoding: 'utf8', cwd: opts.cwd ?? ROOT });
  if (res.error)
    throw new Error(`${bin}: ${res.error.message} (apt-get install prometheus prometheus-alertmanager)`);
  if (res.status !== 0)
    throw new Error(`${bin} ${args.join(' ')} exited ${res.status}:\n${res.stdout}${res.stderr}`);
  return res.stdout + res.stderr;
}

describe('monitoring configuration (docker/prometheus, docker/alertmanager, docker/grafana)', () => {
  // promtool checks that the bearer token file exists, and the config names the path compose mounts the
  // metrics_token secret at (/run/secrets/metrics_token). So that the committed file is checked as it is,
  // promtool runs in a mount namespace of its own (unshare, root) where /run is a fresh tmpfs holding the
  // example secret there: the host's /run is untouched.
  it('passes `promtool check config` as committed, with the secret where compose mounts it', () => {
    const config = parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
      scrape_configs: { authorization?: { credentials_file?: string } }[];
    };
    const files = config.scrape_configs.flatMap((j) => j.authorization?.credentials_file ?? []);
    expect(files).toEqual(['/run/secrets/metrics_token']);
    const example = path.join(ROOT, 'docker/secrets/metrics_token.example');
    const out = execFileSync(
      'unshare',
      [
        '--mount',
        'sh',
        '-ec',
        'mount -t tmpfs -o size=1m protobank-check /run && mkdir /run/secrets && cp "$1" /run/secrets/metrics_token && exec "$2" check config "$3"',
        'check',
        example,
        BIN.promtool,
        PROMETHEUS_CONFIG,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out).toContain('SUCCESS');
    // The rule files were found and checked with it.
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes `promtool check rules` on every rule file', () => {
    const out = tool(BIN.promtool, ['check', 'rules', ...yamlFiles(RULES_DIR)]);
    expect(out).not.toMatch(/FAILED/);
  });

  it('passes `promtool test rules` on every unit test file', () => {
    const out = tool(BIN.promtool, ['test', 'rules', ...yamlFiles(TESTS_DIR)]);
    expect(out.match(/SUCCESS/g)?.length).toBe(yamlFiles(TESTS_DIR).length);
  });

  it('has the alerts the issue asks for, each with severity, summary, description and its runbook paragraph', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'BackupTooOld',
        'BullMQFailedJobsGrowing',
        'ContractCallsDropped',
        'DeadLetterQueueNotEmpty',
        'EventsKeptRetrying',
        'HighErrorRatio',
        'HighLatencyP99',
        'LedgerVerificationFailed',
        'LedgerVerificationStale',
        'NoBackupRecorded',
        'OutboxLag',
        'PaymentsFailingSpike',
        'ServiceDown',
        'StaffProbingColleagues',
        'RefreshTokenReused',
        'LoginLockoutsSpike',
        'PasswordResetMailsFailing',
        'StaffActionOutlivedChange',
        'Watchdog',
      ].sort(),
    );
    const runbook = readFileSync(RUNBOOK, 'utf8');
    // GitHub's anchors: the heading in lower case.
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1].trim().toLowerCase()));
    for (const rule of rules) {
      const name = rule.alert!;
      // Watchdog pages nobody itself (it goes to the dead man's switch): its severity says so.
      expect({ name, severity: rule.labels?.severity }).toEqual({
        name,
        severity: name === 'Watchdog' ? 'none' : expect.stringMatching(/^(critical|warning)$/),
      });
      expect({
        name,
        summary: !!rule.annotations?.summary,
        description: !!rule.annotations?.description,
      }).toEqual({ name, summary: true, description: true });
      expect({ name, runbook: rule.annotations?.runbook_url }).toEqual({
        name,
        runbook: `docs/runbook.md#${name.toLowerCase()}`,
      });
      expect({ name, paragraph: anchors.has(name.toLowerCase()) }).toEqual({ name, paragraph: true });
    }
  });

  it('unit-tests every alert, firing and not firing', () => {
    const tested = new Map<string, { fires: boolean; silent: boolean }>();
    for (const file of yamlFiles(TESTS_DIR)) {
      const spec = parseYaml(readFileSync(file, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      for (const t of spec.tests)
        for (const a of t.alert_rule_test ?? []) {
          const seen = tested.get(a.alertname) ?? { fires: false, silent: false };
          if (a.exp_alerts.length) seen.fires = true;
          else seen.silent = true;
          tested.set(a.alertname, seen);
        }
    }
    // Watchdog (vector(1)) fires whatever the input: tested firing at once and an hour later.
    for (const rule of alertRules())
      expect({ alert: rule.alert, ...tested.get(rule.alert!) }).toEqual({
        alert: rule.alert,
        fires: true,
        silent: rule.alert !== 'Watchdog',
      });
  });

  it('passes `amtool check-config`, with a webhook receiver on the route', () => {
    const out = tool(BIN.amtool, ['check-config', ALERTMANAGER_CONFIG]);
    expect(out).toContain('SUCCESS');
    const config = parseYaml(readFileSync(ALERTMANAGER_CONFIG, 'utf8')) as {
      route: { receiver: string };
      receivers: { name: string; webhook_configs?: { url: string; send_resolved?: boolean }[] }[];
    };
    const receiver = config.receivers.find((r) => r.name === config.route.receiver);
    expect(receiver?.webhook_configs?.[0]).toMatchObject({ url: expect.any(String), send_resolved: true });
  });

  describe('Grafana', () => {
    const datasources = parseYaml(
      readFileSync(path.join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { uid: string; type: string; url: string }[] };
    const provider = parseYaml(
      readFileSync(path.join(GRAFANA, 'provisioning/dashboards/protobank.yml'), 'utf8'),
    ) as { providers: { type: string; options: { path: string } }[] };

    it('provisions the Prometheus data source with a fixed uid, and the dashboards from where compose mounts them', () => {
      expect(datasources.datasources).toEqual([
        expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
      ]);
      expect(provider.providers).toEqual([
        expect.objectContaining({
          type: 'file',
          options: expect.objectContaining({ path: '/etc/grafana/dashboards' }),
        }),
      ]);
      const compose = readFileSync(path.join(ROOT, 'docker/docker-compose.split.yml'), 'utf8');
      expect(compose).toContain("'./grafana/dashboards:/etc/grafana/dashboards:ro'");
    });

    it('has an overview and one dashboard per domain, each panel querying that data source', () => {
      const all = dashboards();
      expect(Object.keys(all)).toEqual(
        expect.arrayContaining([
          'overview.json',
          'ledger.json',
          'cards.json',
          'payments.json',
          'notifications.json',
        ]),
      );
      const uids = Object.values(all).map((d) => d.uid);
      expect(new Set(uids).size).toBe(uids.length);
      for (const [file, d] of Object.entries(all)) {
        expect({ file, uid: d.uid, title: d.title }).toEqual({
          file,
          uid: expect.stringMatching(/^protobank-[a-z-]+$/),
          title: expect.any(String),
        });
        const panels = panelsOf(d);
        expect(panels.length).toBeGreaterThan(3);
        for (const p of panels) {
          const where = `${file}: ${p.title}`;
          expect({ where, datasource: p.datasource }).toEqual({
            where,
            datasource: { type: 'prometheus', uid: 'prometheus' },
          });
          expect({ where, targets: p.targets?.length ?? 0 }).toEqual({ where, targets: expect.any(Number) });
          expect(p.targets!.length).toBeGreaterThan(0);
          for (const t of p.targets!) {
            expect({ where, refId: t.refId, uid: t.datasource?.uid, expr: typeof t.expr }).toEqual({
              where,
              refId: t.refId,
              uid: 'prometheus',
              expr: 'string',
            });
          }
        }
        for (const v of d.templating?.list ?? []) {
          expect(JSON.stringify(v)).toContain('"uid":"prometheus"');
        }
      }
    });
  });
});
