import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi, type UserView } from '@protobank/contracts';
import { AppError, normaliseEmail } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { assertPasswordPolicy } from '../credentials/password-policy';
import { hashPassword } from '../credentials/passwords';

export interface Registration {
  email: string;
  password: string;
  full_name: string;
  role?: UserView['role'];
}

const emailTaken = () => AppError.conflict('email_taken', 'An account with this e-mail already exists');

/**
 * Registration spans two modules, auth (the credential) and users (the profile), with no transaction
 * across them and none held open during the call:
 *  1. claim the e-mail with a committed *pending* credential, which fixes the user id;
 *  2. create the profile through the users contract (idempotent by id);
 *  3. activate the credential if this attempt still holds the claim.
 * If step 2 fails or times out after users committed, the credential stays pending and a retry with the
 * same e-mail takes it over and reuses the id, so users answers with the profile it already has; the
 * e-mail is never locked out. Only active credentials will log in.
 */
@Injectable()
export class RegisterService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  async register(input: Registration): Promise<UserView> {
    // Routes normalise through their DTO; the startup admin (ADMIN_EMAIL) arrives here directly.
    const email = normaliseEmail(input.email);
    assertPasswordPolicy(input.password, email);
    const passwordHash = await hashPassword(input.password);
    const attempt = randomUUID();
    const role = input.role ?? 'customer';
    const claimed = (await this.dataSource.query(
      `INSERT INTO auth.credentials (user_id, email, password_hash, status, attempt, role)
       VALUES ($1, $2, $3, 'pending', $4, $5)
       ON CONFLICT ((lower(email))) DO UPDATE
         SET password_hash = EXCLUDED.password_hash, attempt = EXCLUDED.attempt
         WHERE auth.credentials.status = 'pending' AND auth.credentials.role = EXCLUDED.role
       RETURNING user_id`,
      [randomUUID(), email, passwordHash, attempt, role],
    )) as { user_id: string }[];
    if (claimed.length === 0) throw emailTaken();
    const userId = claimed[0].user_id;

    const view = await this.users.create({
      id: userId,
      email,
      full_name: input.full_name.trim(),
      role: input.role,
    });

    const [, activated] = (await this.dataSource.query(
      `UPDATE auth.credentials SET status = 'active', attempt = NULL WHERE user_id = $1 AND attempt = $2`,
      [userId, attempt],
    )) as [unknown, number];
    if (activated === 0) throw emailTaken(); // a concurrent attempt with this e-mail took over and completes it
    return view;
  }

  /** The role of the active account with this e-mail, if there is one. */
  async activeRole(email: string): Promise<UserView['role'] | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT role FROM auth.credentials WHERE lower(email) = lower($1) AND status = 'active'`,
      [normaliseEmail(email)],
    )) as { role: UserView['role'] }[];
    return row?.role;
  }
}
