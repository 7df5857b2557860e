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
