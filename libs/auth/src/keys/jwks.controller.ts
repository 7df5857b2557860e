import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { NoDependencies, Public, type PublicJwk } from '@protobank/platform';
import { SigningKeys } from './signing-keys';

/** A public signing key as RFC 7517 writes it: an EC key on P-256, named by its RFC 7638 thumbprint. */
class JwkDto implements PublicJwk {
  @ApiProperty({ enum: ['EC'] }) kty: 'EC';
  @ApiProperty({ enum: ['P-256'] }) crv: 'P-256';
  @ApiProperty({ example: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU' }) x: string;
  @ApiProperty({ example: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }) y: string;
  @ApiProperty({ description: 'RFC 7638 thumbprint (SHA-256, base64url)' }) kid: string;
  @ApiProperty({ enum: ['ES256'] }) alg: 'ES256';
  @ApiProperty({ enum: ['sig'] }) use: 'sig';
}

class JwksDto {
  @ApiProperty({ type: [JwkDto] }) keys: JwkDto[];
}

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
  @ApiOkResponse({ type: JwksDto })
  jwks(): JwksDto {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    return { keys: this.keys.verificationKeys().keys.map(({ verify_until, ...jwk }) => jwk) };
  }
}
