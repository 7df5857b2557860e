import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
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

describe('the Prometheus scrape config (docker/prometheus/prometheus.yml)', () => {
  it('scrapes every app at its port, labelled with its service', () => {
    const config = parseYaml(
      readFileSync(join(__dirname, '../../../../docker/prometheus/prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[]; labels?: { service?: string } }[];
      }[];
    };
    const apps = config.scrape_configs.find((job) => job.job_name === 'protobank');
    const targets = (apps?.static_configs ?? []).flatMap((c) =>
      c.targets.map((t) => `${c.labels?.service}=${t}`),
    );
    expect(targets.sort()).toEqual(
      Object.entries(SERVICES)
        .map(([name, s]) => `${name}=${name}:${s.port}`)
        .sort(),
    );
  });
});
