import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { Category } from '../preferences/preference-rules';

@Entity({ schema: 'notifications', name: 'notifications' })
@Check(
  'notifications_category_check',
  `category IN ('transactions', 'payments', 'security', 'account', 'marketing')`,
)
// (user_id, created_at DESC, id DESC) for newest-first pages, and its unread-only twin: descending order
// and partial indexes are beyond TypeORM's index model.
@Index('notifications_user_idx', { synchronize: false })
@Index('notifications_unread_idx', { synchronize: false })
@Index('notifications_source_key', { synchronize: false })
export class NotificationEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  user_id: string;

  @Column('text')
  category: Category;

  @Column('text')
  type: string;

  @Column('text')
  title: string;

  @Column('text')
  body: string;

  @Column('jsonb', { default: () => "'{}'" })
  data: Record<string, string | number | boolean | null>;

  @Column('uuid', { nullable: true })
  source_event_id: string | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  created_at: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  read_at: Date | null;
}
