import { Injectable } from '@nestjs/common';
import type { AuthApi, RevokeSessionsInput } from '@protobank/contracts';
import { SessionsRevoker } from './sessions/sessions-revoker';

/** The auth module's facade: what other modules may call (AUTH_API), in-process or over RabbitMQ. */
@Injectable()
export class AuthApiService implements AuthApi {
  constructor(private readonly revoker: SessionsRevoker) {}

  async revokeSessions(input: RevokeSessionsInput): Promise<{ revoked: number }> {
    return { revoked: await this.revoker.revokeNow(input.user_id, input.event_ids) };
  }
}
