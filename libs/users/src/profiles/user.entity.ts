import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'users', name: 'users' })
@Check('users_role_check', `role IN ('customer', 'staff', 'admin')`)
// Unique on lower(email): an expression index TypeORM cannot describe, so it is left to the migration.
@Index('users_email_key', { synchronize: false })
@Index('users_created_idx', { synchronize: false })
export class UserEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  email: string;

  @Column('text')
  full_name: string;

  @Column('text', { default: 'customer' })
  role: 'customer' | 'staff' | 'admin';

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column('timestamptz', { nullable: true })
  disabled_at: Date | null;
}
