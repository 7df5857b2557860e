import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { USERS_API } from '@protobank/contracts';
import { outboxFor } from '@protobank/platform';
import { MeController } from './profiles/me.controller';
import { ProfilesService } from './profiles/profiles.service';
import { UserEntity } from './profiles/user.entity';

/**
 * Profiles (and, with its issue, KYC). Global so that USERS_API, bound here to the local implementation,
 * is injectable anywhere in the monolith; split apps bind the same token to a RabbitMQ client instead.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity])],
  controllers: [MeController],
  providers: [ProfilesService, { provide: USERS_API, useExisting: ProfilesService }, outboxFor('users')],
  exports: [USERS_API],
})
export class UsersModule {}
