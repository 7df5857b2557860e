import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public, TokenKeys } from '@protobank/platform';

@ApiTags('auth')
@Controller('auth/.well-known')
export class JwksController {
  constructor(private readonly keys: TokenKeys) {}

  @Get('jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'The public key access tokens are signed with (JWKS)' })
  @ApiOkResponse({
    schema: {
      example: {
        keys: [
          {
            kty: 'OKP',
            crv: 'Ed25519',
            x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
            kid: '…',
            alg: 'EdDSA',
            use: 'sig',
          },
        ],
      },
    },
  })
  jwks() {
    return { keys: [this.keys.jwk] };
  }
}
