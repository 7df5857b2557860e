import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export interface Address {
  line1: string;
  line2?: string;
  city: string;
  postcode: string;
  country: string;
}

@Entity({ schema: 'users', name: 'users' })
@Check('users_role_check', `role IN ('customer', 'staff', 'admin')`)
// Unique on lower(email): an expression index TypeORM cannot describe, so it is left to the migration.
@Index('users_email_key', { synchronize: false })
@Index('users_created_idx', { synchronize: false })
// Trigram indexes of staff search (e-mail, and the name as users.folded folds it): migration 1763700000055;
// the Latin spelling of the name: 1763700000057.
@Index('users_email_trgm_idx', { synchronize: false })
@Index('users_name_trgm_idx', { synchronize: false })
@Index('users_latin_name_trgm_idx', { synchronize: false })
export class UserEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  email: string;

  @Column('text')
  full_name: string;

  /** The verified name in Latin letters as the identity document spells it (KYC), if one was given. */
  @Column('text', { nullable: true })
  latin_name: string | null;

  @Column('text', { default: 'customer' })
  role: 'customer' | 'staff' | 'admin';

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  created_at: Date;

  @Column('timestamptz', { nullable: true })
  disabled_at: Date | null;

  @Column('date', { nullable: true })
  date_of_birth: string | null;

  @Column('text', { nullable: true })
  phone: string | null;

  @Column('jsonb', { nullable: true })
  address: Address | null;
}
