import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CredentialEntity } from './credentials/credential.entity';
import { AdminBootstrapService } from './register/admin-bootstrap.service';
import { RegisterController } from './register/register.controller';
import { RegisterService } from './register/register.service';
import { JwksController } from './keys/jwks.controller';
import { SessionStore } from './sessions/session.store';
import { SessionsRevoker } from './sessions/sessions-revoker';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
import { TokenIssuer } from './sessions/token-issuer';

@Module({
  imports: [TypeOrmModule.forFeature([CredentialEntity])],
  controllers: [RegisterController, SessionsController, JwksController],
  providers: [
    RegisterService,
    AdminBootstrapService,
    SessionStore,
    SessionsService,
    TokenIssuer,
    SessionsRevoker,
  ],
})
export class AuthModule {}
