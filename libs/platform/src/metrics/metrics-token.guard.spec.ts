import type { ExecutionContext } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { MetricsTokenGuard } from './metrics-token.guard';

const config = (isProduction: boolean, metricsToken?: string) =>
  ({ isProduction, metricsToken }) as AppConfig;
const withAuthorization = (authorization?: string) =>
  ({
    switchToHttp: () => ({ getRequest: () => ({ headers: authorization ? { authorization } : {} }) }),
  }) as unknown as ExecutionContext;

describe('MetricsTokenGuard', () => {
  it('stops production from starting without a token', () => {
    expect(() => new MetricsTokenGuard(config(true))).toThrow(/METRICS_TOKEN/);
    expect(() => new MetricsTokenGuard(config(true, 'a-scraper-token-0123'))).not.toThrow();
  });

  it('lets only the token through, with 401 in the error shape otherwise', () => {
    const guard = new MetricsTokenGuard(config(true, 'a-scraper-token-0123'));
    expect(guard.canActivate(withAuthorization('Bearer a-scraper-token-0123'))).toBe(true);
    for (const given of [
      undefined,
      'Bearer a-scraper-token-012',
      'Bearer a-scraper-token-01234',
      'Basic x',
    ]) {
      let error: unknown;
      try {
        guard.canActivate(withAuthorization(given));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).toBody()).toMatchObject({ status: 401, code: 'unauthorized' });
      expect((error as AppError).headers['WWW-Authenticate']).toBe('Bearer realm="metrics"');
    }
  });

  it('leaves /metrics open outside production when no token is set', () => {
    expect(new MetricsTokenGuard(config(false)).canActivate(withAuthorization())).toBe(true);
  });
});
