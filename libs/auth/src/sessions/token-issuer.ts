import { Injectable } from '@nestjs/common';
import { AppConfig, signAccessToken, type Role } from '@protobank/platform';
import { SigningKeys } from '../keys/signing-keys';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** Signs access tokens: the only place in Protobank that uses a private key. */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    private readonly config: AppConfig,
  ) {}

  pair(userId: string, role: Role, sid: string, refreshToken: string): TokenPair {
    const iat = Math.floor(Date.now() / 1000);
    const ttl = this.config.accessTokenTtlSeconds;
    const access = signAccessToken(
      {
        sub: userId,
        role,
        sid,
        iat,
        exp: iat + ttl,
        iss: this.config.jwtIssuer,
        aud: this.config.jwtAudience,
      },
      this.keys.signer(),
    );
    return { access_token: access, refresh_token: refreshToken, token_type: 'Bearer', expires_in: ttl };
  }
}
