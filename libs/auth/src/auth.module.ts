import { Global, Module } from '@nestjs/common';
import { AUTH_API } from '@protobank/contracts';
import { AppConfig, inboxFor, outboxFor } from '@protobank/platform';
import { SmtpMailer } from '@protobank/platform/mail';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthApiService } from './auth.api';
import { CredentialEntity } from './credentials/credential.entity';
import { EmailVerificationController } from './email/email-verification.controller';
import { EmailVerification } from './email/email-verification.service';
import { AdminBootstrapService } from './register/admin-bootstrap.service';
import { RegisterController } from './register/register.controller';
import { RegisterService } from './register/register.service';
import { PasswordResetController } from './reset/password-reset.controller';
import { PasswordResetService } from './reset/password-reset.service';
import { ResetMails } from './reset/reset-mails';
import { ResetTokens } from './reset/reset-tokens';
import { StaffResetController } from './reset/staff-reset.controller';
import { JwksController } from './keys/jwks.controller';
import { SigningKeys } from './keys/signing-keys';
import { DeviceTokens } from './sessions/device-tokens';
import { SessionStore } from './sessions/session.store';
import { SessionsRevoker } from './sessions/sessions-revoker';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsEventsController } from './sessions/sessions-events.controller';
import { SessionsService } from './sessions/sessions.service';
import { TokenIssuer } from './sessions/token-issuer';
import { authConfigProvider } from './auth.config';

/**
 * Credentials, sessions, e-mail verification, password resets by e-mail and signing keys. Global so that AUTH_API, bound here
 * to the local implementation, is injectable anywhere in the monolith; split apps bind the token to a
 * RabbitMQ client instead.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([CredentialEntity])],
  controllers: [
    RegisterController,
    SessionsController,
    PasswordResetController,
    StaffResetController,
    EmailVerificationController,
    JwksController,
    SessionsEventsController,
  ],
  providers: [
    authConfigProvider,
    inboxFor('auth'),
    outboxFor('auth'),
    RegisterService,
    AdminBootstrapService,
    SessionStore,
    SessionsService,
    SigningKeys,
    TokenIssuer,
    SessionsRevoker,
    DeviceTokens,
    ResetTokens,
    ResetMails,
    EmailVerification,
    // One relay for the reset and verification e-mails, closed when the app stops.
    {
      provide: SmtpMailer,
      useFactory: (config: AppConfig) => new SmtpMailer(config.smtp),
      inject: [AppConfig],
    },
    PasswordResetService,
    AuthApiService,
    { provide: AUTH_API, useExisting: AuthApiService },
  ],
  exports: [AUTH_API],
})
export class AuthModule {}
