import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, serviceForPath } from './topology';

describe('route table', () => {
  it('routes by longest prefix, on whole path segments only', () => {
    expect(serviceForPath('/auth/register')).toBe('auth');
    expect(serviceForPath('/auth')).toBe('auth');
    expect(serviceForPath('/admin/users/42')).toBe('users');
    expect(serviceForPath('/admin/deposits')).toBe('transactions');
    expect(serviceForPath('/accounts/1/balance')).toBe('accounts');
    expect(serviceForPath('/authx')).toBeUndefined();
    expect(serviceForPath('/admin')).toBeUndefined();
  });

  it('gives every prefix to exactly one service, and every service a distinct port', () => {
    const prefixes = Object.values(SERVICES).flatMap((s) => s.prefixes);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    const ports = Object.values(SERVICES).map((s) => s.port);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('the Prometheus example in docker/secrets/README.md', () => {
  it('scrapes every app, at its port', () => {
    const readme = readFileSync(join(__dirname, '../../../../docker/secrets/README.md'), 'utf8');
    const example = /```yaml\n(scrape_configs:[\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const targets = [...example.matchAll(/\b([a-z]+):(\d{4})\b/g)].map(([, host, port]) => `${host}:${port}`);
    expect(targets.sort()).toEqual(
      Object.entries(SERVICES)
        .map(([name, s]) => `${name}:${s.port}`)
        .sort(),
    );
  });
});
