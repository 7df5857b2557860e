import { Inject, Injectable } from '@nestjs/common';
import type {
  AuditResourceType,
  AuditState,
  StaffActionRecordedEvent,
  StaffRead,
  UserView,
} from '@protobank/contracts';
import { AppError, LOGGER, type Caller } from '@protobank/platform';
import type { Logger } from 'pino';
import { isUUID } from 'class-validator';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditEntryEntity } from './audit-entry.entity';
import { assertActiveRole } from './staff-checks';

/** A staff action of the users module itself. */
export interface UsersAuditEntry {
  action:
    'role_changed' | 'user_disabled' | 'user_enabled' | 'sessions_ended' | 'kyc_approved' | 'kyc_rejected';
  target_user_id: string;
  resource_type: AuditResourceType;
  resource_id: string;
  before: AuditState | null;
  after: AuditState | null;
  reason?: string | null;
  details?: Record<string, unknown>;
}

/**
 * The audit trail's writer. The users module's own actions are appended in their transaction; the
 * actions of other modules arrive as staff_action.recorded and are appended once per event (the caller
 * holds the inbox record in the same transaction), at the time the action happened.
 */
@Injectable()
export class AuditLog {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  record(m: EntityManager, actor: Caller, entry: UsersAuditEntry): Promise<unknown> {
    return m.getRepository(AuditEntryEntity).insert({
      id: randomUUID(),
      actor_id: actor.user_id,
      actor_role: actor.role,
      action: entry.action,
      target_user_id: entry.target_user_id,
      resource_type: entry.resource_type,
      resource_id: entry.resource_id,
      // TypeORM's deep-partial type cannot express free-form jsonb objects.
      before: entry.before as never,
      after: entry.after as never,
      reason: entry.reason ?? null,
      details: (entry.details ?? {}) as never,
    });
  }

  /**
   * A staff member's or an admin's read of users' data (UsersApi.recordStaffRead): filed as
   * customer_data_viewed, with what was read as `after.viewed`, once per owner users knows, unless the
   * reader refuses it (a staff member, and every owner known and a colleague: refuseColleague). One
   * statement, which also answers the known owners' roles.
   *
   * The reader must still hold the role its token names and not be disabled: while auth cannot end a
   * disabled or demoted member's sessions (503 sessions_not_ended, up to the token's 15 minutes), their
   * token still passes every guard, and users, which owns the flag, refuses what they would read (403,
   * nothing filed nor shown; helper-133).
   */
  async recordRead(
    m: EntityManager,
    read: StaffRead,
  ): Promise<{ user_id: string; role: UserView['role'] }[]> {
    // As the reader judges it (assertMaySeeOwners): an id that names no user (not even a uuid) is an
    // unknown owner, which is no colleague, so the read is shown and filed for the others. With none
    // known (an empty list, say) the statement still judges the reader.
    const asked = [...new Set(read.owner_ids.map((id) => id.toLowerCase()))];
    const ids = asked.filter((id) => isUUID(id));
    const rows = (await m.query(
      `WITH reader AS (
         SELECT EXISTS (SELECT 1 FROM users.users WHERE id = $2 AND role = $3 AND disabled_at IS NULL) AS active
       ),
       owners AS (SELECT id, role FROM users.users WHERE id = ANY ($1::uuid[])),
       refused AS (
         SELECT NOT reader.active
                OR ($3 = 'staff' AND (SELECT count(*) FROM owners) = $7
                    AND NOT EXISTS (SELECT 1 FROM owners WHERE role = 'customer')) AS yes
           FROM reader
       ),
       filed AS (
         INSERT INTO users.audit_log (id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
                                      before, after, reason, details)
         SELECT gen_random_uuid(), $2, $3, 'customer_data_viewed', o.id, $4, coalesce($5::uuid, o.id), NULL,
                jsonb_build_object('viewed', $6::text), NULL, '{}'
           FROM owners o, refused WHERE NOT refused.yes
       )
       SELECT reader.active, o.id AS user_id, o.role FROM reader LEFT JOIN owners o ON true`,
      [
        ids,
        read.actor.user_id,
        read.actor.role,
        read.resource_type,
        read.resource_id ?? null,
        read.viewed,
        asked.length,
      ],
    )) as { active: boolean; user_id: string | null; role: UserView['role'] }[];
    if (!rows[0].active) throw this.inactiveReader(read.actor, read.viewed);
    return rows.flatMap((r) => (r.user_id ? [{ user_id: r.user_id, role: r.role }] : []));
  }

  /**
   * For a staff read that files nothing (the audit trail itself): the reader must still hold the role its
   * token names and not be disabled (assertActiveRole, unlocked), as recordRead requires.
   */
  async assertActiveReader(m: EntityManager, actor: Caller, viewed: string): Promise<void> {
    try {
      await assertActiveRole(m, actor, [actor.role as UserView['role']], { lock: false });
    } catch (err) {
      throw err instanceof AppError ? this.inactiveReader(actor, viewed) : err;
    }
  }

  private inactiveReader(actor: Caller, viewed: string): AppError {
    this.logger.warn(
      { security_event: 'inactive_staff_read_refused', actor_id: actor.user_id, viewed },
      'a read by a staff member now disabled or of another role was refused',
    );
    return new AppError(403, 'forbidden', 'Your role does not allow this');
  }

  /**
   * Actions reported by other modules, in one statement; a second copy of the same event adds nothing
   * (the entry's id is the event's).
   */
  async recordReported(m: EntityManager, events: StaffActionRecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const json = (state: AuditState | null) => (state === null ? null : JSON.stringify(state));
    await m.query(
      `INSERT INTO users.audit_log (id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
                                    before, after, reason, details, created_at)
       SELECT id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
              before, after, reason, '{}', created_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::uuid[],
                     $8::jsonb[], $9::jsonb[], $10::text[], $11::timestamptz[])
           AS t(id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
                before, after, reason, created_at)
       ON CONFLICT (id) DO NOTHING`,
      [
        events.map((e) => e.event_id),
        events.map((e) => e.actor_id),
        events.map((e) => e.actor_role),
        events.map((e) => e.action),
        events.map((e) => e.target_user_id),
        events.map((e) => e.resource_type),
        events.map((e) => e.resource_id),
        events.map((e) => json(e.before)),
        events.map((e) => json(e.after)),
        events.map((e) => e.reason),
        events.map((e) => e.occurred_at),
      ],
    );
  }
}
