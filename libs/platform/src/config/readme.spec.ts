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

describe('configuration docs', () => {
  it('say that LOGIN_LOCKOUT_SECONDS is the length of both locks, the e-mail and the device token', () => {
    expect(CONFIG_SCHEMA.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/e-mail's lock/);
    expect(CONFIG_SCHEMA.LOGIN_LOCKOUT_SECONDS.doc).toMatch(/device token's own lock/);
  });
});
