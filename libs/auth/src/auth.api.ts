import { Injectable } from '@nestjs/common';
import type { AuthApi, RevokeSessionsInput, VerificationKeys } from '@protobank/contracts';
import { SigningKeys } from './keys/signing-keys';
import { SessionsRevoker } from './sessions/sessions-revoker';

/** The auth module's facade: what other modules may call (AUTH_API), in-process or over RabbitMQ. */
@Injectable()
export class AuthApiService implements AuthApi {
  constructor(
    private readonly revoker: SessionsRevoker,
    private readonly keys: SigningKeys,
  ) {}

  async revokeSessions(input: RevokeSessionsInput): Promise<{ revoked: number }> {
    return { revoked: await this.revoker.revokeNow(input.user_id, input.event_ids) };
  }

  /** Read afresh, so whichever auth instance answers has seen the latest rotation. */
  verificationKeys(): Promise<VerificationKeys> {
    return Promise.resolve(this.keys.reload());
  }
}
