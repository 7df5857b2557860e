/**
 * The deployment files stay true to the route table (libs/platform/src/topology/services.json): both
 * compose files validate, the split one gives every service its memory limit and starts it after the migration,
 * and nginx.conf is exactly what the table generates and routes every path as serviceForPath() does.
 * Needs a Compose CLI (`docker compose` v2, or Debian's `docker-compose` v1); no Docker engine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
// The topology module itself rather than the whole @protobank/platform barrel: same function, no Nest.
import { SERVICES, serviceForPath } from '../libs/platform/src/topology/topology';
import { ALL_VARIABLES } from './support/configuration';
import { matchNginxLocation, nginxLocations, nginxUpstreams, parseNginxRoutes } from './support/nginx-routes';

const root = path.resolve(__dirname, '..');
const DEV_FILE = 'docker/docker-compose.yml';
const SPLIT_FILE = 'docker/docker-compose.split.yml';
const NGINX_CONF = 'docker/nginx/nginx.conf';
const SERVICE_NAMES = Object.keys(SERVICES) as (keyof typeof SERVICES)[];

type Size = string | number;
interface ComposeService {
  image?: string;
  build?: { args?: Record<string, string>; dockerfile?: string };
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { memory?: Size }; reservations?: { memory?: Size } } };
  ports?: { target: number | string }[];
  volumes?: ({ source?: string; target?: string; read_only?: boolean } | string)[];
  restart?: string;
  secrets?: (string | { source: string })[];
  read_only?: boolean;
  cap_drop?: string[];
}
interface ComposeProject {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

/** `docker compose` (v2) where installed, else v1's `docker-compose`; none is an error, not a skip. */
function composeCli(): { command: string; prefix: string[]; v2: boolean } {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) {
    return { command: 'docker', prefix: ['compose'], v2: true };
  }
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) {
    return { command: 'docker-compose', prefix: [], v2: false };
  }
  throw new Error('no Compose CLI: install the docker compose plugin or `apt-get install docker-compose`');
}

/** The image variables of the compose files, each with its default: the official image. */
const OFFICIAL_IMAGES = {
  NODE_IMAGE: 'node:22-bookworm-slim',
  POSTGRES_IMAGE: 'postgres:16',
  REDIS_IMAGE: 'redis:7',
  MAILPIT_IMAGE: 'axllent/mailpit:v1.27',
  PGBOUNCER_IMAGE: 'edoburu/pgbouncer:v1.24.1-p0',
  RABBITMQ_IMAGE: 'rabbitmq:3-management',
  NGINX_IMAGE: 'nginx:1.27-alpine',
  PROMETHEUS_IMAGE: 'prom/prometheus:v3.5.0',
  ALERTMANAGER_IMAGE: 'prom/alertmanager:v0.28.1',
  GRAFANA_IMAGE: 'grafana/grafana:12.1.0',
};
const IMAGE_OF_SERVICE: Record<string, keyof typeof OFFICIAL_IMAGES> = {
  postgres: 'POSTGRES_IMAGE',
  redis: 'REDIS_IMAGE',
  mailpit: 'MAILPIT_IMAGE',
  pgbouncer: 'PGBOUNCER_IMAGE',
  rabbitmq: 'RABBITMQ_IMAGE',
  nginx: 'NGINX_IMAGE',
  prometheus: 'PROMETHEUS_IMAGE',
  alertmanager: 'ALERTMANAGER_IMAGE',
  grafana: 'GRAFANA_IMAGE',
};

/**
 * The resolved project, as `config` prints it, with the compose variables at their defaults (the image
 * variables too) unless `vars` sets them.
 */
function composeConfig(file: string | string[], vars: Record<string, string> = {}): ComposeProject {
  const cli = composeCli();
  const env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(PROTOBANK_|COMPOSE_)/.test(k) && !(k in OFFICIAL_IMAGES),
      ),
    ),
    ...vars,
  };
  const files = (Array.isArray(file) ? file : [file]).flatMap((f) => ['-f', f]);
  const args = [...cli.prefix, ...files, 'config', ...(cli.v2 ? ['--format', 'json'] : [])];
  const out = execFileSync(cli.command, args, {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (cli.v2 ? JSON.parse(out) : parseYaml(out)) as ComposeProject;
}

/** "128m", "134217728" or 134217728 -> bytes (v2 prints bytes, v1 keeps the unit). */
function bytes(value: Size | undefined): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(String(value));
  if (!m) throw new Error(`not a memory size: ${String(value)}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf(m[2].toLowerCase() || ' ');
}

/**
 * Images stay standard: every third-party image is a variable whose default is the official image, and
 * every app is built on NODE_IMAGE (default node:22-bookworm-slim); setting the variables (as the
 * container tests do, with local stand-ins) changes nothing else.
 */
function expectImageVariables(file: string) {
  const byDefault = composeConfig(file);
  const local = Object.fromEntries(
    Object.keys(OFFICIAL_IMAGES).map((k) => [k, `local/${k.toLowerCase()}:x`]),
  );
  const overridden = composeConfig(file, local);
  for (const [name, service] of Object.entries(byDefault.services)) {
    const other = overridden.services[name];
    if (service.build) {
      // The apps build on NODE_IMAGE; the backup image on POSTGRES_IMAGE (pg_dump of the server's version).
      const base = service.build.args?.POSTGRES_IMAGE !== undefined ? 'POSTGRES_IMAGE' : 'NODE_IMAGE';
      expect({ name, arg: service.build.args?.[base] }).toEqual({ name, arg: OFFICIAL_IMAGES[base] });
      expect({ name, arg: other.build?.args?.[base] }).toEqual({ name, arg: local[base] });
      expect(other.image).toBe(service.image); // protobank/<app>:<tag>, built here
    } else {
      const variable = IMAGE_OF_SERVICE[name];
      expect({ name, variable }).toEqual({ name, variable: expect.any(String) });
      expect({ name, image: service.image }).toEqual({ name, image: OFFICIAL_IMAGES[variable] });
      expect({ name, image: other.image }).toEqual({ name, image: local[variable] });
    }
    expect({ ...other, image: undefined, build: undefined }).toEqual({
      ...service,
      image: undefined,
      build: undefined,
    });
  }
}

describe('docker deployment files', () => {
  it('builds every app on NODE_IMAGE, by default the official Node 22 image', () => {
    const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM .*/gm)?.filter((l) => !/^FROM (\$\{NODE_IMAGE\}|base) /.test(l))).toEqual(
      [],
    );
  });

  describe('docker-compose.yml (monolith)', () => {
    let dev: ComposeProject;
    beforeAll(() => {
      dev = composeConfig(DEV_FILE); // throws, failing every test here, when `config` exits non-zero
    });

    it('validates and runs the monolith on :3000 after the migration', () => {
      const monolith = dev.services.monolith;
      expect(monolith.build?.args?.APP).toBe('monolith');
      expect(monolith.ports?.map((p) => Number(p.target))).toEqual([3000]);
      expect(monolith.depends_on?.migrate.condition).toBe('service_completed_successfully');
      expect(monolith.depends_on?.postgres.condition).toBe('service_healthy');
      expect(dev.services.migrate.build?.args?.APP).toBe('migrate');
      expect(dev.services.migrate.restart).toBe('no');
    });

    it('takes every image from a variable whose default is the official one', () => {
      expectImageVariables(DEV_FILE);
    });

    // The image runs as node and /app is root's: the development keys the monolith makes at startup
    // (JWT signing keys, the card-data key) need a directory of node's, kept across re-creations.
    it("keeps the monolith's development keys in a volume at /app/.data, which the image gives to node", () => {
      // v1 prints "appdata:/app/.data:rw", v2 an object.
      const mounts = (dev.services.monolith.volumes ?? []).map((v) =>
        typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`,
      );
      expect(mounts).toContain('appdata:/app/.data');
      const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^RUN mkdir \/app\/\.data && chown node:node \/app\/\.data$/m);
      expect(dockerfile.indexOf('chown node:node /app/.data')).toBeLessThan(dockerfile.indexOf('USER node'));
    });
  });

  describe('docker-compose.split.yml (one container per service)', () => {
    let split: ComposeProject;
    beforeAll(() => {
      split = composeConfig(SPLIT_FILE);
    });

    it.each(SERVICE_NAMES)('%s: its app, port, memory limit, healthcheck and order', (name) => {
      const spec = SERVICES[name];
      const service = split.services[name];
      expect(service).toBeDefined();
      expect(service.build?.args?.APP).toBe(name);
      expect(service.environment?.PORT).toBe(String(spec.port));
      expect(service.environment?.NODE_ENV).toBe('production');
      expect(bytes(service.deploy?.resources?.limits?.memory)).toBe(bytes(spec.memory));
      expect(bytes(service.deploy?.resources?.reservations?.memory)).toBeLessThanOrEqual(bytes(spec.memory));
      const heapMb = bytes(spec.memory) <= bytes('128m') ? 64 : 160;
      expect(service.environment?.NODE_OPTIONS).toContain(`--max-old-space-size=${heapMb}`);
      expect(service.healthcheck?.test?.length).toBeGreaterThan(1);
      expect(service.healthcheck?.test?.[0]).not.toBe('NONE');
      expect(service.healthcheck?.disable).toBeFalsy();
      expect(service.depends_on?.migrate?.condition).toBe('service_completed_successfully');
      expect(service.depends_on?.pgbouncer?.condition).toBe('service_healthy');
      expect(service.depends_on?.rabbitmq?.condition).toBe('service_healthy');
      expect(service.environment?.DATABASE_URL_FILE).toBe('/run/secrets/database_url');
      expect(service.environment?.DATABASE_LISTEN_URL_FILE).toBe('/run/secrets/database_direct_url');
      expect(service.environment?.RABBITMQ_URL_FILE).toBe('/run/secrets/rabbitmq_url');
      // Production refuses to start without the token /metrics requires: it must be mounted.
      expect(service.environment?.METRICS_TOKEN_FILE).toBe('/run/secrets/metrics_token');
      expect(service.secrets?.map((s) => (typeof s === 'string' ? s : s.source))).toContain('metrics_token');
    });

    it('takes every image from a variable whose default is the official one', () => {
      expectImageVariables(SPLIT_FILE);
    });

    // traces.md tells operators to set these on the stack; compose passes only what an app's environment
    // names (OTEL_SERVICE_NAME excepted: one value would name every app alike).
    it('passes every OTEL_* variable docs/operations/traces.md documents to every app', () => {
      const documented = new Set(
        [...readFileSync(path.join(root, 'docs/operations/traces.md'), 'utf8').matchAll(/`(OTEL_[A-Z_]+)`/g)]
          .map((m) => m[1])
          .filter((name) => name !== 'OTEL_SERVICE_NAME'),
      );
      expect(documented.size).toBeGreaterThan(8);
      const given = { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x', OTEL_BSP_SCHEDULE_DELAY: '200' };
      const withValues = composeConfig(SPLIT_FILE, given);
      for (const name of SERVICE_NAMES) {
        const environment = withValues.services[name].environment ?? {};
        expect({ app: name, missing: [...documented].filter((v) => !(v in environment)) }).toEqual({
          app: name,
          missing: [],
        });
        expect(environment.OTEL_EXPORTER_OTLP_HEADERS).toBe(given.OTEL_EXPORTER_OTLP_HEADERS);
        expect(environment.OTEL_BSP_SCHEDULE_DELAY).toBe(given.OTEL_BSP_SCHEDULE_DELAY);
      }
    });

    it("sizes PgBouncer's server pool from PGBOUNCER_POOL_SIZE, 25 by default", () => {
      expect(split.services.pgbouncer.environment?.DEFAULT_POOL_SIZE).toBe('25');
      const sized = composeConfig(SPLIT_FILE, { PGBOUNCER_POOL_SIZE: '40' });
      expect(sized.services.pgbouncer.environment?.DEFAULT_POOL_SIZE).toBe('40');
    });

    it('keeps passwords out of every environment (they travel as secret files)', () => {
      for (const [name, service] of Object.entries(split.services)) {
        for (const [key, value] of Object.entries(service.environment ?? {})) {
          expect({ service: name, key, withPassword: /\/\/[^/\s:@]+:[^/\s@]+@/.test(value ?? '') }).toEqual({
            service: name,
            key,
            withPassword: false,
          });
        }
      }
    });

    // A *_FILE variable naming a secret the service does not mount stops the app at startup (the migrate
    // one-shot inherited JWT_PUBLIC_KEY_FILE without the jwt_public_key secret and exited 1).
    it('mounts every secret a *_FILE variable of a service names', () => {
      for (const [name, service] of Object.entries(split.services)) {
        const mounted = (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
        for (const [key, value] of Object.entries(service.environment ?? {})) {
          const secret = /^\/run\/secrets\/([\w-]+)$/.exec(value ?? '')?.[1];
          if (secret)
            expect({ service: name, key, mounted: mounted.includes(secret) }).toEqual({
              service: name,
              key,
              mounted: true,
            });
        }
      }
    });

    it('adds the first admin with docker-compose.first-admin.yml: ADMIN_EMAIL required, the password a secret of the set', () => {
      const withAdmin = [SPLIT_FILE, 'docker/docker-compose.first-admin.yml'];
      const config = composeConfig(withAdmin, { ADMIN_EMAIL: 'ops@bank.example', PROTOBANK_SECRETS: 'prod' });
      const auth = config.services.auth;
      expect(auth.environment?.ADMIN_EMAIL).toBe('ops@bank.example');
      expect(auth.environment?.ADMIN_PASSWORD_FILE).toBe('/run/secrets/admin_password');
      expect(auth.environment?.ADMIN_PASSWORD).toBeUndefined();
      const mounted = (auth.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
      expect(mounted).toEqual(expect.arrayContaining(['admin_password', 'metrics_token', 'jwt_public_key']));
      // The file secrets:init writes for the set (scripts/secrets-init.js), beside the others.
      expect(config.secrets?.admin_password?.file).toBe(
        path.join(root, 'docker/secrets/admin_password.prod'),
      );
      for (const [name, service] of Object.entries(config.services)) {
        if (name !== 'auth')
          expect({ name, env: service.environment?.ADMIN_EMAIL }).toEqual({ name, env: undefined });
      }
      // Without an address the override refuses to resolve, naming what to set, rather than start auth
      // with a password and no admin.
      expect(() => composeConfig(withAdmin)).toThrow(/ADMIN_EMAIL/);
      // The split file alone creates no admin.
      expect(split.services.auth.environment?.ADMIN_EMAIL).toBeUndefined();
    });

    it('migrates once, straight to Postgres as the owner, before anything else, making the apps’ login', () => {
      const migrate = split.services.migrate;
      expect(migrate.build?.args?.APP).toBe('migrate');
      expect(migrate.restart).toBe('no');
      expect(migrate.environment?.DATABASE_URL_FILE).toBe('/run/secrets/database_owner_url');
      expect(migrate.environment?.DATABASE_RUNTIME_USER).toBe('protobank_app');
      expect(migrate.environment?.DATABASE_RUNTIME_PASSWORD_FILE).toBe('/run/secrets/postgres_app_password');
      // Only migrate holds the owner's URL; the apps log in as protobank_app, and PgBouncer passes each
      // client's own login on (a DB_USER there would make every app the owner again).
      for (const [name, service] of Object.entries(split.services)) {
        const secrets = (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
        if (name !== 'migrate')
          expect({ name, owner: secrets.includes('database_owner_url') }).toEqual({ name, owner: false });
      }
      expect(split.services.pgbouncer.environment?.DB_USER).toBeUndefined();
      for (const file of ['database_url', 'database_direct_url']) {
        const url = new URL(readFileSync(path.join(root, `docker/secrets/${file}.example`), 'utf8').trim());
        expect({ file, user: url.username }).toEqual({ file, user: 'protobank_app' });
      }
      expect(migrate.depends_on?.postgres.condition).toBe('service_healthy');
      expect(Object.keys(migrate.depends_on ?? {})).not.toContain('pgbouncer');
    });

    it('backs up on a schedule into a named volume: pg_dump of the server image, straight to Postgres, confined', () => {
      const backup = split.services.backup;
      expect(backup.build?.dockerfile).toBe('docker/backup/Dockerfile');
      expect(backup.environment).toMatchObject({
        BACKUP_CRON: expect.any(String),
        BACKUP_KEEP: expect.any(String),
        PGHOST: 'postgres',
        PGPASSWORD_FILE: '/run/secrets/postgres_password',
      });
      expect(
        backup.volumes?.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).join(),
      ).toMatch(/^backups:\/backups/);
      expect(split.volumes?.backups).toBeDefined();
      expect(backup.read_only).toBe(true);
      expect(backup.cap_drop).toEqual(['ALL']);
      expect(bytes(backup.deploy?.resources?.limits?.memory)).toBeGreaterThan(0);
      expect(backup.depends_on?.postgres?.condition).toBe('service_healthy');
      expect(readFileSync(path.join(root, 'docker/backup/Dockerfile'), 'utf8')).toMatch(
        /^ARG POSTGRES_IMAGE=postgres:16\nFROM \$\{POSTGRES_IMAGE\}$/m,
      );
    });

    it('puts nginx in front of every service (HTTP on 80, HTTPS on 443), with the generated config, its templates, its njs module and the TLS secrets', () => {
      const nginx = split.services.nginx;
      expect(nginx.ports?.map((p) => Number(p.target)).sort((a, b) => a - b)).toEqual([80, 443]);
      expect(nginx.secrets?.map((s) => (typeof s === 'string' ? s : s.source)).sort()).toEqual([
        'tls_cert',
        'tls_key',
      ]);
      for (const name of SERVICE_NAMES) expect(nginx.depends_on?.[name]?.condition).toBe('service_healthy');
      const mounts = (nginx.volumes ?? []).map((v) =>
        typeof v === 'string' ? v : `${v.source}:${v.target}`,
      );
      const conf = mounts.find(
        (m) => m.endsWith(':/etc/nginx/nginx.conf') || m.includes(':/etc/nginx/nginx.conf:'),
      );
      expect(conf).toContain('nginx/nginx.conf');
      const module = mounts.find((m) => m.includes(':/etc/nginx/edge.mjs'));
      expect(module).toContain('nginx/edge.mjs');
      const templates = mounts.find((m) => m.includes(':/etc/nginx/templates'));
      expect(templates).toContain('nginx/templates');
    });

    // An operator sets the split stack through compose's variables: a setting the apps read but no app's
    // environment names cannot be set at all (RATE_LIMIT_IPV6_PREFIX was not, until 2026-12-07).
    it("names every setting of the apps' configuration in an app's environment (a secret by its _FILE)", () => {
      // With the first admin's overlay, which gives auth ADMIN_EMAIL and ADMIN_PASSWORD_FILE.
      const stack = composeConfig([SPLIT_FILE, 'docker/docker-compose.first-admin.yml'], {
        ADMIN_EMAIL: 'ops@bank.example',
      });
      const named = new Set(
        [...SERVICE_NAMES, 'migrate'].flatMap((name) => Object.keys(stack.services[name].environment ?? {})),
      );
      // HOST: every app listens on all interfaces in its container, the default. JWT_PRIVATE_KEY: auth reads
      // its signing keys from JWT_KEYS_DIR (a mounted directory) instead.
      const elsewhere = new Set(['HOST', 'JWT_PRIVATE_KEY']);
      const missing = Object.entries(ALL_VARIABLES)
        .filter(([name]) => !elsewhere.has(name))
        .filter(([name, spec]) => {
          const names = spec.secret ? [name, `${name}_FILE`] : [name];
          return !names.some((n) => named.has(n));
        })
        .map(([name]) => name);
      expect(missing).toEqual([]);
    });

    // The image's entrypoint leaves a variable it has no value for as it is, and nginx would refuse
    // "${EDGE_...}" as a rate: every variable of the templates needs a default here.
    it("gives nginx a value for every variable of the edge's templates, and lets envsubst see only those", () => {
      const nginx = split.services.nginx;
      const dir = path.join(root, 'docker/nginx/templates');
      const variables = new Set(
        readdirSync(dir)
          .filter((n) => n.endsWith('.template'))
          .flatMap((n) =>
            [...readFileSync(path.join(dir, n), 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]),
          ),
      );
      expect(variables.size).toBeGreaterThan(0);
      const filter = new RegExp(nginx.environment?.NGINX_ENVSUBST_FILTER ?? '');
      for (const name of variables) {
        expect({ name, value: nginx.environment?.[name] }).toEqual({
          name,
          value: expect.stringMatching(/\S/),
        });
        expect({ name, filtered: filter.test(name) }).toEqual({ name, filtered: true });
      }
    });
  });

  // Monitoring (docker/prometheus, docker/alertmanager, docker/grafana): test/observability.e2e-spec.ts
  // runs the configs for real; here, how the stack runs them.
  describe('docker-compose.split.yml monitoring', () => {
    let split: ComposeProject;
    beforeAll(() => {
      split = composeConfig(SPLIT_FILE);
    });
    /** "127.0.0.1:3300:3000/tcp" (v1) or { host_ip, published, target } (v2) -> host_ip, target. */
    const bindings = (service: ComposeService) =>
      (service.ports ?? []).map((p) => {
        if (typeof p === 'string') {
          const parts = (p as string).replace(/\/\w+$/, '').split(':');
          return { host_ip: parts.length === 3 ? parts[0] : '', target: Number(parts[parts.length - 1]) };
        }
        const long = p as { host_ip?: string; target: number | string };
        return { host_ip: long.host_ip ?? '', target: Number(long.target) };
      });
    const mounts = (service: ComposeService) =>
      (service.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));

    it('gives Prometheus, Alertmanager and Grafana memory limits, restarts and healthchecks, their data in named volumes', () => {
      const expected = { prometheus: '512m', alertmanager: '64m', grafana: '256m' };
      for (const [name, memory] of Object.entries(expected)) {
        const service = split.services[name];
        expect({ name, limit: bytes(service?.deploy?.resources?.limits?.memory) }).toEqual({
          name,
          limit: bytes(memory),
        });
        expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
        expect({ name, test: service.healthcheck?.test?.[0] }).toEqual({ name, test: 'CMD' });
      }
      const data = { prometheus: '/prometheus', alertmanager: '/alertmanager', grafana: '/var/lib/grafana' };
      for (const [name, target] of Object.entries(data)) {
        const volume = mounts(split.services[name]).find((m) => m.split(':')[1] === target);
        expect({ name, volume: volume?.split(':')[0] }).toEqual({ name, volume: `${name}data` });
      }
    });

    it('publishes no monitoring port but Grafana’s, and that one on 127.0.0.1 by default', () => {
      expect(bindings(split.services.prometheus)).toEqual([]);
      expect(bindings(split.services.alertmanager)).toEqual([]);
      expect(bindings(split.services.grafana)).toEqual([{ host_ip: '127.0.0.1', target: 3000 }]);
    });

    it('gives Prometheus its config, rules and the metrics token the apps check, and Grafana its provisioning', () => {
      const prometheus = split.services.prometheus;
      expect(mounts(prometheus)).toContainEqual(
        expect.stringMatching(/\/docker\/prometheus:\/etc\/prometheus(:ro)?$/),
      );
      expect(prometheus.secrets?.map((s) => (typeof s === 'string' ? s : s.source))).toEqual([
        'metrics_token',
      ]);
      const config = parseYaml(readFileSync(path.join(root, 'docker/prometheus/prometheus.yml'), 'utf8')) as {
        scrape_configs: { job_name: string; authorization?: { credentials_file?: string } }[];
      };
      const apps = config.scrape_configs.find((j) => j.job_name === 'protobank');
      expect(apps?.authorization?.credentials_file).toBe('/run/secrets/metrics_token');
      expect(mounts(split.services.alertmanager)).toContainEqual(
        expect.stringMatching(
          /\/docker\/alertmanager\/alertmanager\.yml:\/etc\/alertmanager\/alertmanager\.yml(:ro)?$/,
        ),
      );
      const grafana = mounts(split.services.grafana);
      expect(grafana).toContainEqual(
        expect.stringMatching(/\/docker\/grafana\/provisioning:\/etc\/grafana\/provisioning(:ro)?$/),
      );
      expect(grafana).toContainEqual(
        expect.stringMatching(/\/docker\/grafana\/dashboards:\/etc\/grafana\/dashboards(:ro)?$/),
      );
      expect(split.services.grafana.depends_on?.prometheus?.condition).toBe('service_healthy');
    });
  });

  describe('nginx.conf', () => {
    const text = readFileSync(path.join(root, NGINX_CONF), 'utf8');
    const locations = nginxLocations(text);

    it('is what scripts/gen-nginx.js generates from services.json', () => {
      expect(() =>
        execFileSync(process.execPath, ['scripts/gen-nginx.js', '--check'], { cwd: root, stdio: 'pipe' }),
      ).not.toThrow();
    });

    it('has one upstream per service, on its port', () => {
      const upstreams = nginxUpstreams(text);
      expect(Object.keys(upstreams).sort()).toEqual([...SERVICE_NAMES].sort());
      for (const name of SERVICE_NAMES) expect(upstreams[name]).toEqual([`${name}:${SERVICES[name].port}`]);
    });

    it('routes every prefix of every service to that service', () => {
      const routes = parseNginxRoutes(text);
      for (const name of SERVICE_NAMES) {
        for (const prefix of SERVICES[name].prefixes) {
          expect(routes).toContainEqual({ prefix, service: name });
        }
      }
      // /docs (Swagger UI's page and assets) goes to auth, and the paths with a stricter rate limit go to
      // the service serving them; nothing else is routed that services.json does not name.
      const limited = ['/auth/login', '/auth/register'];
      for (const prefix of limited)
        expect(routes).toContainEqual({ prefix, service: serviceForPath(prefix) });
      const claimed = routes.filter((r) => r.prefix !== '/docs' && !limited.includes(r.prefix));
      for (const { prefix, service } of claimed) {
        expect(SERVICES[service as keyof typeof SERVICES].prefixes).toContain(prefix);
      }
    });

    it('picks the service serviceForPath() picks, by longest prefix', () => {
      const routed = (p: string) => matchNginxLocation(locations, p)?.upstream;
      expect(routed('/auth/register')).toBe('auth');
      expect(routed('/admin/users/x')).toBe('users');
      expect(routed('/accountsx')).toBeUndefined();
      const samples = ['/', '/admin', '/admin/', '/health/live', '/metrics', '/authx', '/payments1'];
      for (const prefix of Object.values(SERVICES).flatMap((s) => s.prefixes)) {
        samples.push(prefix, `${prefix}/`, `${prefix}/x/y`, `${prefix}x`, `${prefix}-x`);
      }
      const mismatches = samples.filter((p) => routed(p) !== serviceForPath(p));
      expect(mismatches).toEqual([]);
    });

    it('never routes /metrics (each app is scraped on its own port, with its token)', () => {
      for (const p of ['/metrics', '/metrics/', '/metrics/x']) {
        expect(matchNginxLocation(locations, p)).toMatchObject({ path: '/', upstream: undefined });
      }
    });

    it('times slow clients out deliberately (headers, pauses in a body)', () => {
      expect(text).toMatch(/^\s*client_header_timeout 10s;$/m);
      expect(text).toMatch(/^\s*client_body_timeout 10s;$/m);
      expect(text).toMatch(/^\s*proxy_request_buffering on;$/m);
    });

    it('answers health and the merged docs itself (njs), and sends Swagger UI to the auth service', () => {
      for (const p of [
        '/health/live',
        '/health',
        '/health/ready',
        '/docs-json',
        '/docs/swagger-ui-init.js',
      ]) {
        expect(matchNginxLocation(locations, p)).toMatchObject({
          modifier: '=',
          path: p,
          upstream: undefined,
        });
      }
      // Each takes GET and HEAD only (else 405, in the error shape, with Allow), then answers with njs.
      const GET_ONLY = String.raw`if \(\$request_method !~ \^\(GET\|HEAD\)\$\) \{ return 405; \}`;
      expect(text).toMatch(
        new RegExp(String.raw`location = /health/ready \{\s*${GET_ONLY}\s*js_content edge\.ready;`),
      );
      expect(text).toMatch(
        new RegExp(String.raw`location = /docs-json \{\s*${GET_ONLY}\s*js_content edge\.docs;`),
      );
      expect(matchNginxLocation(locations, '/docs')?.upstream).toBe('auth');
      expect(matchNginxLocation(locations, '/docs/swagger-ui.css')?.upstream).toBe('auth');
      // The edge's subrequests to each service are internal: no client reaches /_edge/...
      expect(matchNginxLocation(locations, '/_edge/ready/auth')).toMatchObject({
        path: '/',
        upstream: undefined,
      });
      expect(matchNginxLocation(locations, '/nowhere')).toMatchObject({ path: '/', upstream: undefined });
    });
  });
});
