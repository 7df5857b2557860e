import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { RegisterService } from './register.service';
import { AuthConfig } from '../auth.config';

const ATTEMPTS = 30;

/**
 * Creates the first staff admin from ADMIN_EMAIL / ADMIN_PASSWORD(_FILE) when absent. Runs in the
 * background and retries, because in split mode the users service may start after auth.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  constructor(
    private readonly config: AuthConfig,
    private readonly registration: RegisterService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const { adminEmail, adminPassword } = this.config;
    if (!adminEmail || !adminPassword) return;
    void this.ensure(adminEmail, adminPassword);
  }

  private async ensure(email: string, password: string): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const role = await this.registration.activeRole(email);
        if (role === 'admin') return;
        if (role) {
          this.logger.error(
            { email },
            'ADMIN_EMAIL belongs to an account that is not an admin: no admin was created',
          );
          return;
        }
        await this.registration.register({ email, password, full_name: 'Administrator', role: 'admin' });
        this.logger.info({ email }, 'created the first admin');
        return;
      } catch (err) {
        if (attempt === ATTEMPTS) this.logger.error({ err }, 'could not create the first admin');
        else await new Promise((r) => setTimeout(r, 2000).unref());
      }
    }
  }
}
