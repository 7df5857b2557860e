import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'auth', name: 'credentials' })
@Index('credentials_email_key', { synchronize: false })
@Check('credentials_status_check', `status IN ('pending', 'active')`)
@Check('credentials_role_check', `role IN ('customer', 'staff', 'admin')`)
export class CredentialEntity {
  @PrimaryColumn('uuid')
  user_id: string;

  @Column('text')
  email: string;

  /** argon2id PHC string; never leaves this module. */
  @Column('text')
  password_hash: string;

  /** pending while registration waits for the users module; only active credentials can log in. */
  @Column('text', { default: 'pending' })
  status: 'pending' | 'active';

  /** The role the registration was made for; a pending one can be taken over only for the same role. */
  @Column('text', { default: 'customer' })
  role: 'customer' | 'staff' | 'admin';

  /** The registration attempt that holds a pending credential; a retry takes it over. */
  @Column('uuid', { nullable: true })
  attempt: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  /** When its owner last changed the password (POST /auth/password); null until then. */
  @Column('timestamptz', { nullable: true })
  password_changed_at: Date | null;

  /** When the user confirmed a code e-mailed to `email`; reset e-mails go only to a verified address. */
  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  email_verified_at: Date | null;

  /** When the password was last reset by e-mail: the sessions after it are held (PASSWORD_RESET_HOLD_HOURS). */
  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  password_reset_at: Date | null;

  /** The account's first successful sign-in; later sign-ins from new devices are told to the owner. */
  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  first_signed_in_at: Date | null;
}
