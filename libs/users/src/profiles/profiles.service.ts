import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { CreateUserInput, UsersApi, UserView } from '@protobank/contracts';
import { AppError, OutboxService } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { UserEntity } from './user.entity';

export const toView = (u: UserEntity): UserView => ({
  id: u.id,
  email: u.email,
  full_name: u.full_name,
  role: u.role,
  created_at: u.created_at.toISOString(),
  disabled: u.disabled_at !== null,
});

/** The users contract, implemented once: the monolith injects it, the users app serves it over RabbitMQ. */
@Injectable()
export class ProfilesService implements UsersApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  async create(input: CreateUserInput): Promise<UserView> {
    return this.dataSource.transaction(async (m) => {
      const repo = m.getRepository(UserEntity);
      // Idempotent for a retried call: the same id with the same e-mail returns the existing profile.
      const same = await repo.findOneBy({ id: input.id });
      if (same) {
        if (same.email.toLowerCase() === input.email.toLowerCase()) return toView(same);
        throw AppError.conflict('user_id_taken', 'A different user already has this id');
      }
      const inserted = (await m.query(
        `INSERT INTO users.users (id, email, full_name, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id`,
        [input.id, input.email, input.full_name, input.role ?? 'customer'],
      )) as unknown[];
      if (inserted.length === 0)
        throw AppError.conflict('email_taken', 'An account with this e-mail already exists');
      const user = await repo.findOneByOrFail({ id: input.id });
      await this.outbox.add(m, 'users', 'user.registered', { user_id: user.id, email: user.email });
      return toView(user);
    });
  }

  async getProfile(userId: string): Promise<UserView> {
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw AppError.notFound('user');
    return toView(user);
  }
}
