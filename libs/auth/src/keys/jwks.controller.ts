import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NoDependencies, Public, type PublicJwk } from '@protobank/platform';
import { SigningKeys } from './signing-keys';

@ApiTags('auth')
@Controller('auth/.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  @Get('jwks.json')
  @Public()
  @NoDependencies() // the keys it reads are in memory
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Every public key access tokens may be signed with (JWKS)',
    description:
      'ES256 keys on P-256, each with its RFC 7638 thumbprint as `kid`: the newest signs, older ones stay ' +
      'listed until every token they signed has expired. A verifier caching this should fetch it again ' +
      'when a token names a `kid` it does not know.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        keys: [
          {
            kty: 'EC',
            crv: 'P-256',
            x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
            y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
            kid: '…',
            alg: 'ES256',
            use: 'sig',
          },
        ],
      },
    },
  })
  jwks(): { keys: PublicJwk[] } {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    return { keys: this.keys.verificationKeys().keys.map(({ verify_until, ...jwk }) => jwk) };
  }
}
