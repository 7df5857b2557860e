import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WATCHED_SECURITY_EVENTS } from './security-events';

describe('WATCHED_SECURITY_EVENTS', () => {
  it('holds every event the security alerts watch, so each series starts at 0 and its first one is counted', () => {
    const rules = readFileSync(join(__dirname, '../../../../docker/prometheus/rules/security.yml'), 'utf8');
    const watched = [...rules.matchAll(/event(?:=~|=)"([^"]+)"/g)].flatMap((m) => m[1].split('|'));
    expect(watched.length).toBeGreaterThanOrEqual(10);
    expect(watched.filter((e) => !(WATCHED_SECURITY_EVENTS as readonly string[]).includes(e))).toEqual([]);
  });
});
