import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi, type UserView } from '@protobank/contracts';
import { AppConfig, AppError, normaliseEmail } from '@protobank/platform';
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
 *  2. create the profile through the users contract (idempotent by id: a later claim's name replaces an
 *     earlier one's on the profile no one can log in to yet);
 *  3. activate the credential if this attempt still holds the claim.
 * If step 2 fails or times out, the attempt gives the claim up and the credential stays pending: a retry
 * with the same e-mail takes it over and reuses the id; the e-mail is never locked out. A claim that is
 * still being worked on is not taken over (409 email_taken), unless its attempt has held it for twice
 * the contract call's timeout (a crashed process): a second registration of the same e-mail while the
 * first runs took the claim over, and the winner got the first one's name on its profile. Only active
 * credentials will log in.
 */
@Injectable()
export class RegisterService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly config: AppConfig,
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
         SET password_hash = EXCLUDED.password_hash, attempt = EXCLUDED.attempt, created_at = now()
         WHERE auth.credentials.status = 'pending' AND auth.credentials.role = EXCLUDED.role
           AND (auth.credentials.attempt IS NULL
                OR auth.credentials.created_at < now() - make_interval(secs => $6::double precision))
       RETURNING user_id`,
      [randomUUID(), email, passwordHash, attempt, role, (2 * this.config.rpcTimeoutMs) / 1000],
    )) as { user_id: string }[];
    if (claimed.length === 0) throw emailTaken();
    const userId = claimed[0].user_id;

    let view: UserView;
    try {
      view = await this.users.create({
        id: userId,
        email,
        full_name: input.full_name.trim(),
        role: input.role,
      });
    } catch (err) {
      // Given up: a retry takes the claim over at once.
      await this.dataSource.query(
        `UPDATE auth.credentials SET attempt = NULL WHERE user_id = $1 AND attempt = $2 AND status = 'pending'`,
        [userId, attempt],
      );
      throw err;
    }

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
