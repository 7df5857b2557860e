import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SCHEMA } from './config.schema';

describe('README configuration table', () => {
  it('lists every variable the apps read', () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    const missing = Object.keys(CONFIG_SCHEMA).filter((name) => !readme.includes(`| \`${name}\``));
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
    expect(CONFIG_SCHEMA.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/e-mail's lock/);
    expect(CONFIG_SCHEMA.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/device token's own lock/);
  });
});
