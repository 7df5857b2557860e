import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** One staff action: who did what to whom, when. Append-only. */
@Entity({ schema: 'users', name: 'audit_log' })
@Index('audit_log_created_idx', { synchronize: false })
export class AuditEntryEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  actor_id: string;

  @Column('text')
  action: 'role_changed' | 'user_disabled' | 'user_enabled' | 'kyc_approved' | 'kyc_rejected';

  @Column('uuid', { nullable: true })
  target_user_id: string | null;

  @Column('jsonb', { default: {} })
  details: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  created_at: Date;
}
