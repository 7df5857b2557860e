import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  AuthApi,
  RevokeSessionsInput,
  VerificationKeys,
  VerifyPasswordInput,
} from '@protobank/contracts';
import { isUUID } from 'class-validator';
import { DataSource } from 'typeorm';
import { activeCredentialById } from './credentials/credential-lookup';
import { checkPassword } from './credentials/passwords';
import { SigningKeys } from './keys/signing-keys';
import { SessionsRevoker } from './sessions/sessions-revoker';
import { SessionsService } from './sessions/sessions.service';

/** The auth module's facade: what other modules may call (AUTH_API), in-process or over RabbitMQ. */
@Injectable()
export class AuthApiService implements AuthApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly revoker: SessionsRevoker,
    private readonly keys: SigningKeys,
    private readonly sessions: SessionsService,
  ) {}

  async revokeSessions(input: RevokeSessionsInput): Promise<{ revoked: number }> {
    return { revoked: await this.revoker.revokeNow(input.user_id, input.event_ids) };
  }

  /** Read afresh, so whichever auth instance answers has seen the latest rotation. */
  verificationKeys(): Promise<VerificationKeys> {
    return Promise.resolve(this.keys.reload());
  }

  /**
   * A signed-in user's password asked for again (a card reveal): wrong ones count with the password
   * change's and lock both (SessionsService.passwordReentered; 429 rate_limited while locked). An unknown
   * user costs the same argon2id time as a wrong password (checkPassword's dummy hash).
   */
  async verifyPassword(input: VerifyPasswordInput): Promise<{ valid: boolean }> {
    const password = typeof input.password === 'string' ? input.password : '';
    const credential = isUUID(input.user_id)
      ? await activeCredentialById(this.dataSource, input.user_id)
      : undefined;
    if (!credential) return { valid: await checkPassword(undefined, password) };
    return {
      valid: await this.sessions.passwordReentered(credential.user_id, credential.password_hash, password),
    };
  }
}
