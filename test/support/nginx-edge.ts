/**
 * nginx with the split compose stack's generated config (docker/nginx/nginx.conf) in front of a running
 * split topology on this machine: the same locations and the same njs module (docker/nginx/edge.mjs),
 * with only what differs outside a container rewritten (upstream addresses, the listen address, file
 * paths, the worker user, the certificate). It terminates TLS as in the stack, with a throwaway
 * self-signed certificate (openssl): `baseUrl` is HTTPS, `request()` trusts that certificate, and plain
 * HTTP (`httpUrl`) redirects there except /health/*. Its limits are the templates of
 * docker/nginx/templates rendered with LOAD_EDGE_LIMITS (routing tests, not limit tests; those run in
 * the container suite). Debian's nginx and libnginx-mod-http-js; .ci/run installs them.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { LOAD_EDGE_LIMITS, makeTestCertificate, renderEdgeTemplate } from './edge-tls';
import { processes, waitListening } from './processes';

const ROOT = join(__dirname, '../..');
const NGINX = '/usr/sbin/nginx';
const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

export interface NginxEdge {
  /** https://127.0.0.1:<port> */
  baseUrl: string;
  /** http://127.0.0.1:<port>: health checks, else a redirect to baseUrl. */
  httpUrl: string;
  /** The certificate nginx presents (PEM), its own trust anchor. */
  ca: string;
  /** supertest against baseUrl, trusting `ca`. */
  request(): ReturnType<typeof request.agent>;
  /** The access log's path (JSON lines, docker/nginx/nginx.conf's `edge` format). */
  accessLog: string;
  /** The error log's path (warn and above: njs exceptions and edge.clientKey's errors among them). */
  errorLog: string;
  stop(): Promise<void>;
}

/** `upstreams`: service name → its base URL (http://127.0.0.1:port). */
export async function startNginxEdge(upstreams: Record<string, string>, logFile: string): Promise<NginxEdge> {
  if (spawnSync(NGINX, ['-v']).status !== 0 || spawnSync('test', ['-f', JS_MODULE]).status !== 0)
    throw new Error(
      'the nginx edge test needs nginx with njs: apt-get install nginx-light libnginx-mod-http-js',
    );
  const dir = mkdtempSync(join(tmpdir(), 'protobank-nginx-'));
  // Workers run as nobody here (the image's `user nginx` is dropped) and buffer large answers in `dir`.
  chmodSync(dir, 0o777);
  const port = await processes.freePort();
  const httpPort = await processes.freePort();
  const tls = makeTestCertificate(dir);
  // What the image's entrypoint does with docker/nginx/templates: render them into conf.d.
  const confD = join(dir, 'conf.d');
  mkdirSync(confD);
  const templates = join(ROOT, 'docker/nginx/templates');
  for (const name of readdirSync(templates).filter((n) => n.endsWith('.template')))
    writeFileSync(
      join(confD, name.replace(/\.template$/, '')),
      renderEdgeTemplate(readFileSync(join(templates, name), 'utf8'), {
        ...LOAD_EDGE_LIMITS,
        EDGE_HTTPS_PORT: String(port),
        // A value other than the default /64, as an operator's may be (these clients are IPv4, counted by
        // their address: the prefix's effect is gen-nginx.spec.ts's).
        EDGE_IPV6_PREFIX: '56',
      }),
    );
  let conf = readFileSync(join(ROOT, 'docker/nginx/nginx.conf'), 'utf8');
  const rewrite = (from: RegExp, to: string) => {
    if (!from.test(conf)) throw new Error(`nginx.conf has no ${String(from)} to rewrite`);
    conf = conf.replace(from, to);
  };
  rewrite(/^user .*$/m, '');
  const errorLog = logFile.replace(/(\.log)?$/, '-error.log');
  rewrite(/^error_log .*$/m, `error_log ${errorLog} warn;`);
  rewrite(/^pid .*$/m, `pid ${join(dir, 'nginx.pid')};`);
  rewrite(/^load_module modules\/ngx_http_js_module\.so;$/m, `load_module ${JS_MODULE};`);
  rewrite(/access_log \/var\/log\/nginx\/access\.log/, `access_log ${join(dir, 'access.log')}`);
  rewrite(
    /js_import edge from \/etc\/nginx\/edge\.mjs;/,
    `js_import edge from ${join(ROOT, 'docker/nginx/edge.mjs')};`,
  );
  rewrite(/listen 80;/, `listen 127.0.0.1:${httpPort};`);
  rewrite(/listen 443 ssl;/, `listen 127.0.0.1:${port} ssl;`);
  rewrite(/ssl_certificate \/run\/secrets\/tls_cert;/, `ssl_certificate ${tls.certFile};`);
  rewrite(/ssl_certificate_key \/run\/secrets\/tls_key;/, `ssl_certificate_key ${tls.keyFile};`);
  conf = conf.replace(/\/etc\/nginx\/conf\.d\//g, `${confD}/`);
  for (const [service, url] of Object.entries(upstreams))
    rewrite(
      new RegExp(`upstream ${service} \\{ server [^;]+;`),
      `upstream ${service} { server ${new URL(url).host};`,
    );
  // Buffers of bodies and responses in this directory, not the package's /var/lib/nginx.
  rewrite(
    /^http \{$/m,
    `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;`,
  );
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  await waitListening(child, port, stop, () => {
    try {
      return `nginx did not start: ${readFileSync(errorLog, 'utf8')}`;
    } catch {
      return `nginx did not start (see ${logFile})`;
    }
  });
  const baseUrl = `https://127.0.0.1:${port}`;
  return {
    baseUrl,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ca: tls.cert,
    request: () => request.agent(baseUrl).ca(tls.cert),
    accessLog: join(dir, 'access.log'),
    errorLog,
    stop,
  };
}
