import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { USERS_API } from '@protobank/contracts';
import { inboxFor, outboxFor } from '@protobank/platform';
import { AdminUsersController } from './admin/admin-users.controller';
import { AdminUsersService } from './admin/admin-users.service';
import { AuditEntryEntity } from './admin/audit-entry.entity';
import { AuditLog } from './admin/audit-log';
import { StaffActionsAudit } from './admin/staff-actions-audit';
import { DocumentCipher } from './kyc/document-cipher';
import { DocumentHashes } from './kyc/document-hashes';
import { KycController } from './kyc/kyc.controller';
import { KycEntity } from './kyc/kyc.entity';
import { KycService } from './kyc/kyc.service';
import { MeController } from './profiles/me.controller';
import { ProfilesService } from './profiles/profiles.service';
import { UsersApiService } from './users.api';
import { UserEntity } from './profiles/user.entity';
import { usersConfigProvider } from './users.config';

/**
 * Profiles (and, with its issue, KYC). Global so that USERS_API, bound here to the local implementation,
 * is injectable anywhere in the monolith; split apps bind the same token to a RabbitMQ client instead.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity, AuditEntryEntity, KycEntity])],
  // StaffActionsAudit handles events: Nest finds @EventPattern (our @OnEvent) on controllers only.
  controllers: [MeController, AdminUsersController, KycController, StaffActionsAudit],
  providers: [
    usersConfigProvider,
    ProfilesService,
    AdminUsersService,
    AuditLog,
    DocumentCipher,
    DocumentHashes,
    KycService,
    UsersApiService,
    { provide: USERS_API, useExisting: UsersApiService },
    outboxFor('users'),
    inboxFor('users'),
  ],
  exports: [USERS_API],
})
export class UsersModule {}
