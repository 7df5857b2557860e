import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'notifications', name: 'notifications' })
// (user_id, created_at DESC, id DESC) for newest-first pages: descending order is beyond TypeORM's index model.
@Index('notifications_user_idx', { synchronize: false })
export class NotificationEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  user_id: string;

  @Column('text')
  category: 'transactions' | 'security' | 'account' | 'marketing';

  @Column('text')
  title: string;

  @Column('text')
  body: string;

  @Column('uuid', { nullable: true })
  source_event_id: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column('timestamptz', { nullable: true })
  read_at: Date | null;
}
