import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type StaffActor, type UsersApi } from '@protobank/contracts';
import {
  AppError,
  assertMayActOnOwner,
  fileListRead,
  OutboxService,
  pageOfKept,
  roleOf,
  rolesOf,
  withoutColleagues,
  type Caller,
  type StaffPass,
} from '@protobank/platform';
import { DataSource } from 'typeorm';
import { DeliveryQueue } from './delivery-queue';

interface FailedRow {
  id: string;
  notification_id: string;
  user_id: string;
  channel: string;
  status: string;
  attempts: number;
  last_error: string | null;
  failed_at: Date | null;
  created_at: Date;
  title: string;
}

const view = (r: FailedRow) => ({
  id: r.id,
  notification_id: r.notification_id,
  user_id: r.user_id,
  channel: r.channel,
  status: r.status,
  attempts: r.attempts,
  last_error: r.last_error,
  title: r.title,
  created_at: r.created_at.toISOString(),
  failed_at: r.failed_at?.toISOString() ?? null,
});

const SELECT = `SELECT d.id, d.notification_id, d.user_id, d.channel, d.status, d.attempts, d.last_error,
                       d.failed_at, d.created_at, n.title
                  FROM notifications.deliveries d JOIN notifications.notifications n ON n.id = d.notification_id`;

/**
 * Deliveries that used up their tries, for staff: most recent failure first, and a way to try again. A
 * colleague's (a staff member's or an admin's) are an admin's to see and retry.
 */
@Injectable()
export class FailedDeliveriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly queue: DeliveryQueue,
    private readonly outbox: OutboxService,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  /**
   * A staff member's list leaves out colleagues' deliveries (withoutColleagues); an admin's has all. The
   * page is filed as a read of each owner's failed deliveries before it is shown (fileListRead).
   */
  list(caller: Caller, cursor: string | undefined, limit: number) {
    const roles = rolesOf(this.users);
    return pageOfKept(
      {
        cursor,
        limit,
        keep: (rows) => withoutColleagues(caller, rows, (r) => r.user_id, roles),
        shown: (page) =>
          fileListRead(
            caller,
            page.map((r) => r.user_id),
            this.users,
            'failed_deliveries',
          ),
        position: (row) => ({ created_at: row.failed_at!, id: row.id }),
        read: async (after, n) =>
          (await this.dataSource.query(
            `${SELECT} WHERE d.status = 'failed' ${after ? 'AND (d.failed_at, d.id) < ($2, $3)' : ''}
              ORDER BY d.failed_at DESC, d.id DESC LIMIT $1`,
            after ? [n, after.created_at, after.id] : [n],
          )) as FailedRow[],
      },
      view,
    );
  }

  /**
   * Back to pending, as a new generation with fresh tries: a job of the old one can no longer act. A staff
   * action on a customer (they are sent the notification again): audited (delivery_retried, through
   * staff_action.recorded in the same transaction), and never on the actor's own notification. The job is
   * queued after the commit; if Redis does not take it, the delivery sweep queues the pending row.
   */
  async retry(actor: StaffActor, pass: StaffPass, id: string, reason: string | null = null) {
    // A colleague's takes an admin, as every staff action on a colleague does (their owner never changes).
    const [owner] = (await this.dataSource.query(
      `SELECT user_id FROM notifications.deliveries WHERE id = $1`,
      [id],
    )) as { user_id: string }[];
    if (owner && owner.user_id !== actor.user_id && actor.role !== 'admin') {
      await pass.owners([owner.user_id]);
      const role = await roleOf(this.users, owner.user_id);
      if (role !== null) assertMayActOnOwner(actor, role);
    }
    const retried = await this.dataSource.transaction(async (m) => {
      const [found] = (await m.query(
        `SELECT user_id, status FROM notifications.deliveries WHERE id = $1 FOR UPDATE`,
        [id],
      )) as { user_id: string; status: string }[];
      if (!found) throw AppError.notFound('delivery', 'id');
      if (found.user_id === actor.user_id) {
        throw new AppError(403, 'own_notification', 'Staff cannot act on their own notifications').logged({
          security_event: 'own_notification_refused',
          actor_id: actor.user_id,
          delivery_id: id,
        });
      }
      if (found.status !== 'failed') {
        throw AppError.conflict('delivery_not_failed', `This delivery is ${found.status}, not failed`);
      }
      const [rows] = (await m.query(
        `UPDATE notifications.deliveries
            SET status = 'pending', generation = generation + 1, attempts = 0, failed_at = NULL, updated_at = now()
          WHERE id = $1 RETURNING id, generation`,
        [id],
      )) as [{ id: string; generation: number }[], number];
      await this.outbox.add(m, 'notifications', 'staff_action.recorded', {
        action: 'delivery_retried',
        actor_id: actor.user_id,
        actor_role: actor.role,
        target_user_id: found.user_id,
        resource_type: 'notification_delivery',
        resource_id: id,
        before: { status: 'failed' },
        after: { status: 'pending' },
        reason,
      });
      // The delivery as the retry left it (pending), read in its transaction: read after the job is
      // queued, a worker quick enough had already sent it, and the 202 answered `sent`.
      const [row] = (await m.query(`${SELECT} WHERE d.id = $1`, [id])) as FailedRow[];
      return { ...rows[0], row };
    });
    // Committed: the retry has happened, so a queue that does not take the job now is logged and left to
    // the delivery sweep (a 503 here told staff it had not, and a second try answered 409).
    await this.queue.enqueueAfterCommit([{ delivery_id: retried.id, generation: retried.generation }]);
    return view(retried.row);
  }
}
