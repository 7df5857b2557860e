import type { AuditResourceType, AuditState } from '@protobank/contracts';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One staff action: who did what to whom and to which resource, the state before and after, why, and
 * when. Append-only. Written by the users module in its own actions' transactions, and from
 * staff_action.recorded for the actions of other modules (its event id is the entry's id).
 */
@Entity({ schema: 'users', name: 'audit_log' })
@Index('audit_log_created_idx', { synchronize: false })
@Index('audit_log_actor_idx', { synchronize: false })
@Index('audit_log_target_user_idx', { synchronize: false })
@Index('audit_log_action_idx', { synchronize: false })
@Index('audit_log_resource_idx', { synchronize: false })
// The actions without the reads (GET /admin/audit?kind=actions; partial, migration 047).
@Index('audit_log_actions_idx', { synchronize: false })
export class AuditEntryEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  actor_id: string;

  /** The actor's role when they acted; null for entries from before roles were recorded. */
  @Column('text', { nullable: true })
  actor_role: string | null;

  /** A STAFF_ACTIONS name (text: a newer module may report actions this code does not know yet). */
  @Column('text')
  action: string;

  @Column('uuid', { nullable: true })
  target_user_id: string | null;

  @Column('text')
  resource_type: AuditResourceType;

  @Column('uuid')
  resource_id: string;

  @Column('jsonb', { nullable: true })
  before: AuditState | null;

  @Column('jsonb', { nullable: true })
  after: AuditState | null;

  @Column('text', { nullable: true })
  reason: string | null;

  /** Further context (kept for entries from before before/after existed, e.g. a role change's from/to). */
  @Column('jsonb', { default: {} })
  details: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  created_at: Date;
}
