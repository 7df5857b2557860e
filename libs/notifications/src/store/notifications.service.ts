import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, keysetPage } from '@protobank/platform';
import { DataSource, IsNull } from 'typeorm';
import { NotificationEntity } from './notification.entity';

export const notificationView = (n: NotificationEntity) => ({
  id: n.id,
  category: n.category,
  type: n.type,
  title: n.title,
  body: n.body,
  data: n.data,
  created_at: n.created_at.toISOString(),
  read_at: n.read_at?.toISOString() ?? null,
});
export type NotificationView = ReturnType<typeof notificationView>;

/** A user's stored notifications: every query is scoped to the caller, so another's id is a 404. */
/** How far before a reconnecting client's last notification a replay looks for ones pushed after it. */
export const STREAM_LOOK_BACK_SECONDS = 120;

@Injectable()
export class NotificationsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get repo() {
    return this.dataSource.getRepository(NotificationEntity);
  }

  async list(userId: string, q: { unread?: boolean; cursor?: string; limit?: number }) {
    const qb = this.repo.createQueryBuilder('n').where('n.user_id = :userId', { userId });
    if (q.unread) qb.andWhere('n.read_at IS NULL');
    const [page, unread_count] = await Promise.all([
      keysetPage(
        qb,
        {
          alias: 'n',
          at: 'created_at',
          id: 'id',
          order: 'DESC',
          cursor: q.cursor,
          limit: q.limit ?? 20,
          position: (n) => n,
        },
        notificationView,
      ),
      this.unreadCount(userId),
    ]);
    return { ...page, unread_count };
  }

  /** Whether `id` is a notification of `userId`'s. */
  async exists(userId: string, id: string): Promise<boolean> {
    return this.repo.existsBy({ id, user_id: userId });
  }

  async get(userId: string, id: string): Promise<NotificationView> {
    const n = await this.repo.findOneBy({ id, user_id: userId });
    if (!n) throw AppError.notFound('notification', 'id');
    return notificationView(n);
  }

  /** Idempotent: reading a read notification keeps its first read_at. */
  async markRead(userId: string, id: string): Promise<NotificationView> {
    await this.repo.update({ id, user_id: userId, read_at: IsNull() }, { read_at: () => 'now()' });
    return this.get(userId, id);
  }

  async markAllRead(userId: string): Promise<{ marked: number; unread_count: number }> {
    const result = await this.repo.update({ user_id: userId, read_at: IsNull() }, { read_at: () => 'now()' });
    return { marked: result.affected ?? 0, unread_count: await this.unreadCount(userId) };
  }

  unreadCount(userId: string): Promise<number> {
    return this.repo.countBy({ user_id: userId, read_at: IsNull() });
  }

  /**
   * Notifications of `userId` created after `afterId` (oldest first) that were for the app (an in_app
   * delivery, whatever became of it): what a reconnecting stream missed. `lookBack` (the first page of a
   * replay) adds those created up to STREAM_LOOK_BACK_SECONDS before `afterId` but pushed after it: the
   * stream pushes in the order deliveries go out, not the order notifications were created (consumer
   * batches commit out of order, a failed push is retried seconds later), so a client whose last id is
   * `afterId` may not have had them. Ones pushed with it or before it it had.
   */
  async since(userId: string, afterId: string, limit = 100, lookBack = false): Promise<NotificationView[]> {
    const after = `(SELECT created_at, id FROM notifications.notifications WHERE id = :afterId AND user_id = :userId)`;
    const pushedLater = `(n.created_at >= (SELECT created_at FROM notifications.notifications
                                            WHERE id = :afterId AND user_id = :userId) - make_interval(secs => :lookBack)
                          AND EXISTS (SELECT 1 FROM notifications.deliveries d, notifications.deliveries l
                                       WHERE d.notification_id = n.id AND d.channel = 'in_app'
                                         AND l.notification_id = :afterId AND l.channel = 'in_app'
                                         AND d.sent_at > l.sent_at))`;
    const rows = await this.repo
      .createQueryBuilder('n')
      .where('n.user_id = :userId', { userId })
      .andWhere(
        lookBack ? `((n.created_at, n.id) > ${after} OR ${pushedLater})` : `(n.created_at, n.id) > ${after}`,
        {
          afterId,
          lookBack: STREAM_LOOK_BACK_SECONDS,
        },
      )
      .andWhere(
        `EXISTS (SELECT 1 FROM notifications.deliveries d WHERE d.notification_id = n.id AND d.channel = 'in_app')`,
      )
      .orderBy('n.created_at', 'ASC')
      .addOrderBy('n.id', 'ASC')
      .take(limit)
      .getMany();
    return rows.map(notificationView);
  }
}
