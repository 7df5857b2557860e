import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

export type AccountType = 'current' | 'savings';

/**
 * A customer account as the customer knows it: owner, number, type, name. Its balance, status and
 * overdraft limit live in the ledger (transactions), which checks them under lock when money moves.
 */
@Entity({ schema: 'accounts', name: 'accounts' })
@Unique('accounts_number_unique', ['sort_code', 'account_number'])
@Index('accounts_owner_idx', { synchronize: false })
@Check('accounts_type_check', `type IN ('current', 'savings')`)
export class AccountEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  owner_id: string;

  @Column('char', { length: 6 })
  sort_code: string;

  @Column('char', { length: 8 })
  account_number: string;

  @Column('text')
  type: AccountType;

  @Column('char', { length: 3 })
  currency: string;

  @Column('text')
  name: string;

  @Column({ type: 'timestamptz', precision: 3, default: () => 'now()' })
  created_at: Date;
}
