import type { DataSource } from 'typeorm';

/** What auth reads of an active credential. */
export interface ActiveCredential {
  user_id: string;
  email: string;
  /** argon2id PHC string; never leaves this module. */
  password_hash: string;
  password_changed_at: Date | null;
  first_signed_in_at: Date | null;
  password_reset_at: Date | null;
  email_verified_at: Date | null;
}

const COLUMNS =
  'user_id, email, password_hash, password_changed_at, first_signed_in_at, password_reset_at, email_verified_at';

/** The active credential of `email` (normalised as at registration), if any. */
export async function activeCredentialByEmail(
  dataSource: DataSource,
  email: string,
): Promise<ActiveCredential | undefined> {
  const rows = (await dataSource.query(
    `SELECT ${COLUMNS} FROM auth.credentials WHERE lower(email) = $1 AND status = 'active'`,
    [email],
  )) as ActiveCredential[];
  return rows[0];
}

/** The active credential of `userId`, if any. */
export async function activeCredentialById(
  dataSource: DataSource,
  userId: string,
): Promise<ActiveCredential | undefined> {
  const rows = (await dataSource.query(
    `SELECT ${COLUMNS} FROM auth.credentials WHERE user_id = $1 AND status = 'active'`,
    [userId],
  )) as ActiveCredential[];
  return rows[0];
}
