import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'auth', name: 'credentials' })
@Index('credentials_email_key', { synchronize: false })
export class CredentialEntity {
  @PrimaryColumn('uuid')
  user_id: string;

  @Column('text')
  email: string;

  /** argon2id PHC string; never leaves this module. */
  @Column('text')
  password_hash: string;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
