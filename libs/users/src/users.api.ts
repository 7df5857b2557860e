import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  MAX_CONTACT_IDS,
  type CreateUserInput,
  type KycStatus,
  type StaffRead,
  type UserContact,
  type UsersApi,
  type UserView,
} from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { isUUID } from 'class-validator';
import { DataSource, In } from 'typeorm';
import { AuditLog } from './admin/audit-log';
import { KycService } from './kyc/kyc.service';
import { ProfilesService } from './profiles/profiles.service';
import { UserEntity } from './profiles/user.entity';

/** The users module's facade: what other modules may call (USERS_API), in-process or over RabbitMQ. */
@Injectable()
export class UsersApiService implements UsersApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly profiles: ProfilesService,
    private readonly kyc: KycService,
    private readonly audit: AuditLog,
  ) {}

  create(input: CreateUserInput): Promise<UserView> {
    return this.profiles.create(input);
  }

  getProfile(userId: string): Promise<UserView> {
    return this.profiles.getProfile(userId);
  }

  async getKycStatus(userId: string): Promise<{ status: KycStatus }> {
    await this.profiles.getProfile(userId); // 404 for an unknown user
    return this.kyc.status(userId);
  }

  async getContacts(userIds: string[]): Promise<UserContact[]> {
    const ids = [...new Set(userIds)].filter((id) => isUUID(id));
    if (ids.length > MAX_CONTACT_IDS) {
      throw AppError.badRequest('too_many_ids', `At most ${MAX_CONTACT_IDS} user ids per call`);
    }
    if (ids.length === 0) return [];
    const users = await this.dataSource.getRepository(UserEntity).findBy({ id: In(ids) });
    return users.map((u) => ({
      user_id: u.id,
      full_name: u.full_name,
      email: u.email,
      phone: u.phone,
      disabled: u.disabled_at !== null,
    }));
  }

  async recordStaffRead(read: StaffRead): Promise<{ owners: { user_id: string; role: UserView['role'] }[] }> {
    return { owners: await this.audit.recordRead(this.dataSource.manager, read) };
  }
}
