import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'users', name: 'users' })
export class UserEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  email: string;

  @Column('text')
  full_name: string;

  @Column('text')
  role: 'customer' | 'staff' | 'admin';

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
