import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { hash } from '@node-rs/argon2';
import { USERS_API, type UsersApi, type UserView } from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

// argon2id (algorithm 2) with OWASP's baseline cost: 19 MiB, 2 passes.
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface Registration {
  email: string;
  password: string;
  full_name: string;
  role?: UserView['role'];
}

/**
 * Registration spans two modules: auth keeps the credential, users keeps the profile. The credential row
 * is written in a transaction that commits only after users has created the profile, so a failed or
 * refused profile leaves no credential; users.create is idempotent by id, so a retry is safe.
 */
@Injectable()
export class RegisterService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  async register(input: Registration): Promise<UserView> {
    const email = input.email.trim().toLowerCase();
    if (input.password.toLowerCase().includes(email)) {
      throw AppError.badRequest('weak_password', 'Password must not contain the e-mail', [
        { field: 'password', message: 'password must not contain the e-mail' },
      ]);
    }
    const passwordHash = await hash(input.password, ARGON2);
    const userId = randomUUID();
    return this.dataSource.transaction(async (m) => {
      const inserted = (await m.query(
        `INSERT INTO auth.credentials (user_id, email, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING user_id`,
        [userId, email, passwordHash],
      )) as unknown[];
      if (inserted.length === 0)
        throw AppError.conflict('email_taken', 'An account with this e-mail already exists');
      return this.users.create({ id: userId, email, full_name: input.full_name.trim(), role: input.role });
    });
  }

  async exists(email: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      'SELECT 1 FROM auth.credentials WHERE lower(email) = lower($1)',
      [email],
    )) as unknown[];
    return rows.length > 0;
  }
}
