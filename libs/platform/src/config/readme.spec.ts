import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// Every module's variables with the platform's (a spec may reach into modules; the platform code does not).
import { ALL_VARIABLES } from '../../../../test/support/configuration';
import { AUTH_VARIABLES } from '../../../auth/src/auth.config';

describe('README configuration table', () => {
  it("lists every variable the apps read, the platform's and each module's", () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    const missing = Object.keys(ALL_VARIABLES).filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('README topology table', () => {
  it('lists each service with the path prefixes services.json routes to it', () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    const topology = JSON.parse(readFileSync(join(__dirname, '../topology/services.json'), 'utf8')) as {
      services: Record<string, { port: number; prefixes: string[] }>;
    };
    for (const [name, service] of Object.entries(topology.services)) {
      const row = readme
        .split('\n')
        .find((line) => new RegExp(`^\\| ${name} +\\| ${service.port} +\\|`).test(line));
      const listed = [...(row ?? '').split('|')[4].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      expect({ name, listed }).toEqual({ name, listed: service.prefixes });
    }
  });
});

describe('configuration docs', () => {
  it('say that LOGIN_LOCKOUT_SECONDS is the length of both locks, the e-mail and the device token', () => {
    expect(AUTH_VARIABLES.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/e-mail's lock/);
    expect(AUTH_VARIABLES.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/device token's own lock/);
  });
});
