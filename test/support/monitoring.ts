/**
 * The split stack's monitoring (docker/prometheus, docker/alertmanager, docker/grafana) for tests on the
 * host: Debian's Prometheus and Alertmanager binaries on loopback, each with a config derived from the
 * committed one (same jobs, rules, route and receivers; only addresses and file paths rewritten), and the
 * queries of the committed Grafana dashboards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { processes, waitListening } from './processes';

export const ROOT = path.resolve(__dirname, '../..');
export const PROMETHEUS_DIR = path.join(ROOT, 'docker/prometheus');
export const PROMETHEUS_CONFIG = path.join(PROMETHEUS_DIR, 'prometheus.yml');
export const ALERTMANAGER_CONFIG = path.join(ROOT, 'docker/alertmanager/alertmanager.yml');
export const DASHBOARDS_DIR = path.join(ROOT, 'docker/grafana/dashboards');
/** Debian's binaries (packages prometheus, prometheus-alertmanager). */
export const BIN = {
  prometheus: '/usr/bin/prometheus',
  promtool: '/usr/bin/promtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  amtool: '/usr/bin/amtool',
};

interface StaticConfig {
  targets: string[];
  labels?: Record<string, string>;
}
interface ScrapeConfig {
  job_name: string;
  static_configs: StaticConfig[];
  authorization?: { type?: string; credentials_file?: string };
  [key: string]: unknown;
}
export interface PrometheusConfig {
  global: Record<string, unknown>;
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: StaticConfig[] }[] };
  scrape_configs: ScrapeConfig[];
}

export const committedPrometheusConfig = (): PrometheusConfig =>
  parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as PrometheusConfig;

/**
 * The committed config with every address pointed at loopback: each app target at `services[<its
 * service label>]` (an app the committed file does not scrape is an error), Prometheus and Alertmanager at
 * theirs, the metrics token from `tokenFile`, the committed rules by absolute path; `interval` replaces
 * the scrape and evaluation intervals.
 */
export function derivePrometheusConfig(opts: {
  services: Record<string, string>;
  prometheus: string;
  alertmanager: string;
  tokenFile: string;
  interval: string;
}): PrometheusConfig {
  const config = committedPrometheusConfig();
  const hostPort = (url: string) => new URL(url).host;
  const scraped = new Set<string>();
  for (const job of config.scrape_configs) {
    for (const sc of job.static_configs) {
      const service = sc.labels?.service;
      if (job.job_name === 'protobank') {
        if (!service || !opts.services[service])
          throw new Error(`prometheus.yml scrapes ${sc.targets.join(',')} as ${service}: no such app`);
        scraped.add(service);
        sc.targets = [hostPort(opts.services[service])];
      } else if (job.job_name === 'prometheus') sc.targets = [opts.prometheus];
      else if (job.job_name === 'alertmanager') sc.targets = [opts.alertmanager];
      else throw new Error(`prometheus.yml has a job this test does not know: ${job.job_name}`);
    }
    if (job.authorization?.credentials_file) job.authorization.credentials_file = opts.tokenFile;
  }
  const missing = Object.keys(opts.services).filter((s) => !scraped.has(s));
  if (missing.length) throw new Error(`prometheus.yml does not scrape ${missing.join(', ')}`);
  config.global = {
    ...config.global,
    scrape_interval: opts.interval,
    scrape_timeout: opts.interval,
    evaluation_interval: opts.interval,
  };
  config.rule_files = config.rule_files.map((glob) => path.resolve(PROMETHEUS_DIR, glob));
  for (const am of config.alerting.alertmanagers) {
    for (const sc of am.static_configs) sc.targets = [opts.alertmanager];
  }
  return config;
}

interface AlertmanagerConfig {
  route: Record<string, unknown>;
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
  [key: string]: unknown;
}

/** The committed Alertmanager config with every webhook pointed at `webhookUrl`. */
export function deriveAlertmanagerConfig(webhookUrl: string): AlertmanagerConfig {
  const config = parseYaml(readFileSync(ALERTMANAGER_CONFIG, 'utf8')) as AlertmanagerConfig;
  for (const receiver of config.receivers) {
    for (const hook of receiver.webhook_configs ?? []) hook.url = webhookUrl;
  }
  return config;
}

export interface Server {
  url: string;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startServer(
  name: string,
  bin: string,
  args: (dir: string, listen: string) => string[],
  files: Record<string, string>,
  logDir: string,
): Promise<Server> {
  const dir = mkdtempSync(path.join(tmpdir(), `pb-${name}-`));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const port = await processes.freePort();
  const listen = `127.0.0.1:${port}`;
  const logFile = path.join(logDir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(bin, args(dir, listen), { stdio: ['ignore', out, out] });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await waitListening(child, port, stop, () => `${name} did not start: ${readFileSync(logFile, 'utf8')}`);
  const url = `http://${listen}`;
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (i > 300) {
      await stop();
      throw new Error(`${name} not ready after 30 s: ${readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, dir, child, stop };
}

/** Alertmanager on loopback with `config`; no cluster listener. */
export function startAlertmanager(config: AlertmanagerConfig, logDir: string): Promise<Server> {
  return startServer(
    'alertmanager',
    BIN.alertmanager,
    (dir, listen) => [
      `--config.file=${dir}/alertmanager.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=${listen}`,
      '--cluster.listen-address=',
    ],
    { 'alertmanager.yml': stringifyYaml(config) },
    logDir,
  );
}

/**
 * Prometheus on loopback with the committed config derived by `derive` (given its own address and the
 * metrics token's file, written next to the config).
 */
export function startPrometheus(
  derive: (self: string, tokenFile: string) => PrometheusConfig,
  metricsToken: string,
  logDir: string,
): Promise<Server> {
  return startServer(
    'prometheus',
    BIN.prometheus,
    (dir, listen) => {
      const tokenFile = path.join(dir, 'metrics_token');
      writeFileSync(tokenFile, `${metricsToken}\n`, { mode: 0o600 });
      writeFileSync(path.join(dir, 'prometheus.yml'), stringifyYaml(derive(listen, tokenFile)));
      return [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=${listen}`,
      ];
    },
    {},
    logDir,
  );
}

export interface Sample {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

/** GET /api/v1/<path>?<params> of Prometheus; throws on an error answer. */
export async function promApi<T>(server: string, apiPath: string, params: Record<string, string> = {}) {
  const res = await fetch(`${server}/api/v1/${apiPath}?${new URLSearchParams(params).toString()}`);
  const text = await res.text();
  if (!res.headers.get('content-type')?.includes('json'))
    throw new Error(`${apiPath}: ${res.status} ${text}`);
  const body = JSON.parse(text) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${apiPath} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; allValue?: string; type: string; query?: unknown }[] };
}

/** Every dashboard JSON under docker/grafana/dashboards, by file name. */
export function dashboards(): Record<string, Dashboard> {
  return Object.fromEntries(
    readdirSync(DASHBOARDS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f, JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard]),
  );
}

/** The panels of a dashboard, rows' nested panels included, rows themselves left out. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** Every query of every panel, as Grafana would send it with `vars` (name -> value) filled in. */
export function dashboardQueries(vars: Record<string, string>): DashboardQuery[] {
  return Object.values(dashboards()).flatMap((d) =>
    panelsOf(d).flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        dashboard: d.title,
        panel: p.title,
        refId: t.refId,
        expr: fillVariables(t.expr, vars),
      })),
    ),
  );
}

/** `$name`, `${name}` and `${name:format}` replaced by `vars[name]`; an unknown variable is an error. */
export function fillVariables(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    if (!(name in vars)) throw new Error(`unknown variable ${match} in ${expr}`);
    return vars[name];
  });
}
