/**
 * One compose stack of the container tests: docker/<file> as a user runs it, with only the image
 * variables pointed at the stand-ins and the published ports bound to 127.0.0.1. `down -v` removes its
 * volumes, so it refuses to start when one of the file's named volumes belongs to another project (a
 * developer's own dev stack on this machine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(__dirname, '../..');

interface Builder {
  build(opts: { apps?: string[]; tag?: string; backup?: boolean }): Promise<Record<string, string>>;
  CACHE: string;
  ALL_APPS: string[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const builder = require('./build.js') as Builder;

/** One secret of a set made by freshSecrets (docker/secrets/<name>.<suffix>), as its file holds it. */
export const secretOf = (name: string, suffix: string): string =>
  readFileSync(path.join(root, 'docker/secrets', `${name}.${suffix}`), 'utf8').trim();

/**
 * A fresh set of the split stack's secrets, docker/secrets/<name>.<suffix>, made by `npm run secrets:init`
 * as an operator makes it (production refuses the committed *.example ones); run the stack with
 * PROTOBANK_SECRETS=<suffix>. Returns the function that removes the set.
 */
export function freshSecrets(suffix: string): () => void {
  execFileSync(process.execPath, ['scripts/secrets-init.js', '--suffix', suffix, '--force'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const dir = path.join(root, 'docker/secrets');
  return () => {
    for (const name of readdirSync(dir).filter((n) => n.endsWith(`.${suffix}`)))
      rmSync(path.join(dir, name), { recursive: true, force: true });
  };
}

export class ComposeStack {
  constructor(
    readonly file: string,
    readonly project: string,
    readonly env: Record<string, string>,
    readonly extraArgs: string[] = [],
  ) {}

  private args(rest: string[]): string[] {
    return ['-p', this.project, '-f', this.file, ...this.extraArgs, ...rest];
  }

  compose(rest: string[], timeoutMs = 300_000): string {
    return execFileSync('docker-compose', this.args(rest), {
      cwd: root,
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
  }

  /** The file's named volumes that exist already under another compose project. */
  foreignVolumes(): string[] {
    const config = parseYaml(this.compose(['config'])) as {
      volumes?: Record<string, { name?: string } | null>;
    };
    const names = Object.entries(config.volumes ?? {}).map(([key, v]) => v?.name ?? `${this.project}_${key}`);
    return names.filter((name) => {
      const res = spawnSync(
        'docker',
        ['volume', 'inspect', '-f', '{{index .Labels "com.docker.compose.project"}}', name],
        { encoding: 'utf8' },
      );
      return res.status === 0 && res.stdout.trim() !== this.project;
    });
  }

  up(services: string[] = []): void {
    const foreign = this.foreignVolumes();
    if (foreign.length) {
      throw new Error(
        `volumes ${foreign.join(', ')} belong to another compose project; this test removes its volumes, ` +
          'so it will not run next to them (remove them or stop that stack first)',
      );
    }
    this.compose(['up', '-d', '--no-build', ...services], 600_000);
  }

  /** The container of a service: state, exit code, restarts and health ('' without a healthcheck). */
  state(
    service: string,
  ): { id: string; status: string; exitCode: number; restarts: number; health: string } | undefined {
    const id = this.compose(['ps', '-q', service]).trim();
    if (!id) return undefined;
    const out = execFileSync(
      'docker',
      [
        'inspect',
        '-f',
        '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{end}}',
        id,
      ],
      { encoding: 'utf8' },
    ).trim();
    const [status, exitCode, restarts, health = ''] = out.split(' ');
    return { id, status, exitCode: Number(exitCode), restarts: Number(restarts), health };
  }

  async waitFor(
    service: string,
    done: (s: NonNullable<ReturnType<ComposeStack['state']>>) => boolean,
    what: string,
    timeoutMs = 180_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.state(service);
      if (s && done(s)) return;
      // An exit, or a restart (restart: unless-stopped turns a crash into a loop), ends the wait.
      if (s && (s.status === 'exited' || s.restarts > 0)) {
        throw new Error(
          `${service} exited with ${s.exitCode} (restarts: ${s.restarts}) while waiting for ${what}\n` +
            this.logs(service),
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${service}: ${what} (${JSON.stringify(s)})\n${this.logs(service)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  logs(service?: string): string {
    try {
      const out = this.compose(['logs', '--no-color', ...(service ? [service] : [])]);
      return service ? out.split('\n').slice(-60).join('\n') : out;
    } catch (err) {
      return `(no logs: ${(err as Error).message})`;
    }
  }

  /** Saves every service's log under <cache>/logs, then removes containers, network and volumes. */
  down(): string {
    const dir = path.join(builder.CACHE, 'logs');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.project}.log`);
    writeFileSync(file, this.logs());
    this.compose(['down', '-v', '--remove-orphans', '--timeout', '20']);
    return file;
  }
}
