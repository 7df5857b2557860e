/**
 * docker-compose.split.yml with its default secrets, the committed docker/secrets/*.example, refuses to
 * start: the apps run with NODE_ENV=production, which refuses every committed secret. The migrate
 * one-shot (which every app waits for) and auth, each run alone in its container, exit 1 naming each
 * variable and the secret file it came from, and print no part of a secret. split.containers-spec.ts
 * runs the same file with a fresh set from `npm run secrets:init`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { builder, ComposeStack } from './compose';

const SECRETS = path.resolve(__dirname, '../../docker/secrets');

/**
 * What would give a committed secret away: its passwords and tokens all start with dev-only-, and the
 * keys are the base64 lines of the key files.
 */
function leaks(output: string): string[] {
  const keyLines = ['card_data_key.example', 'kyc_encryption_key.example', 'jwt_keys.example']
    .flatMap((n) => {
      const p = path.join(SECRETS, n);
      return statSync(p).isDirectory() ? readdirSync(p).map((f) => path.join(p, f)) : [p];
    })
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('-----'));
  return [
    ...(/dev-only-[a-z]/.test(output) ? ['a dev-only- value'] : []),
    ...keyLines.filter((l) => output.includes(l)).map((l) => `key material ${l.slice(0, 6)}…`),
  ];
}

describe('docker-compose.split.yml with the committed example secrets', () => {
  let stack: ComposeStack;

  beforeAll(async () => {
    const images = await builder.build({ apps: ['migrate', 'auth'] });
    stack = new ComposeStack('docker/docker-compose.split.yml', 'protobank-containers-secrets', {
      ...images,
      PROTOBANK_SECRETS: 'example',
    });
  }, 1_800_000);

  afterAll(() => {
    stack?.compose(['down', '-v', '--remove-orphans', '--timeout', '5']);
  }, 120_000);

  /** `run --rm --no-deps <service>`: its exit code and output (the app stops at its config check). */
  function runAlone(service: string): { status: number; output: string } {
    try {
      const out = stack.compose(['run', '--rm', '--no-deps', '-T', service], 120_000);
      return { status: 0, output: out };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { status: e.status, output: `${e.stdout}\n${e.stderr}` };
    }
  }

  it.each([
    [
      'migrate',
      [
        'DATABASE_URL (from DATABASE_URL_FILE=/run/secrets/database_owner_url)',
        'DATABASE_RUNTIME_PASSWORD (from DATABASE_RUNTIME_PASSWORD_FILE=/run/secrets/postgres_app_password)',
        'RABBITMQ_URL (from RABBITMQ_URL_FILE=/run/secrets/rabbitmq_url)',
      ],
    ],
    [
      'auth',
      [
        'DATABASE_URL (from DATABASE_URL_FILE=/run/secrets/database_url)',
        'DATABASE_LISTEN_URL (from DATABASE_LISTEN_URL_FILE=/run/secrets/database_direct_url)',
        'RABBITMQ_URL (from RABBITMQ_URL_FILE=/run/secrets/rabbitmq_url)',
        'JWT_PUBLIC_KEY (from JWT_PUBLIC_KEY_FILE=/run/secrets/jwt_public_key)',
        'METRICS_TOKEN (from METRICS_TOKEN_FILE=/run/secrets/metrics_token)',
        'JWT_KEYS_DIR (/run/jwt-keys)',
      ],
    ],
  ])(
    '%s exits 1, naming each refused variable and its file, printing no secret',
    (service, refused) => {
      const { status, output } = runAlone(service);
      expect({ service, status }).toEqual({ service, status: 1 });
      const problems = output
        .split('\n')
        .filter((l) => l.includes('holds a development value'))
        .map((l) => l.trim().replace(/^- /, ''));
      expect(problems.map((p) => p.slice(0, p.indexOf(' holds')))).toEqual(refused);
      expect(leaks(output)).toEqual([]);
    },
    180_000,
  );
});
