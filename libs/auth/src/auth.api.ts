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

/** The auth module's facade: what other modules may call (AUTH_API), in-process or over RabbitMQ. */
@Injectable()
export class AuthApiService implements AuthApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
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

  /** An unknown user costs the same argon2id time as a wrong password (checkPassword's dummy hash). */
  async verifyPassword(input: VerifyPasswordInput): Promise<{ valid: boolean }> {
    const password = typeof input.password === 'string' ? input.password : '';
    const credential = isUUID(input.user_id)
      ? await activeCredentialById(this.dataSource, input.user_id)
      : undefined;
    return { valid: await checkPassword(credential?.password_hash, password) };
  }
}
