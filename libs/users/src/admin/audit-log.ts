import { Injectable } from '@nestjs/common';
import type {
  AuditResourceType,
  AuditState,
  StaffActionRecordedEvent,
  StaffRead,
  UserView,
} from '@protobank/contracts';
import { timeOrderedId, type Caller } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditEntryEntity } from './audit-entry.entity';

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
   * A staff member's or an admin's read of a user's data (UsersApi.recordStaffRead): filed as
   * customer_data_viewed, with what was read as `after.viewed`, unless the reader is a staff member and the
   * owner a colleague (the reader refuses that read). One statement, which also answers the owner's role
   * (null, nothing filed: no such user).
   */
  async recordRead(m: EntityManager, read: StaffRead): Promise<UserView['role'] | null> {
    const [owner] = (await m.query(
      `WITH owner AS (SELECT role FROM users.users WHERE id = $1),
       filed AS (
         INSERT INTO users.audit_log (id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
                                      before, after, reason, details)
         SELECT $2, $3, $4, 'customer_data_viewed', $1, $5, $6, NULL, jsonb_build_object('viewed', $7::text),
                NULL, '{}'
           FROM owner WHERE $4 <> 'staff' OR owner.role = 'customer'
       )
       SELECT role FROM owner`,
      [
        read.owner_id,
        timeOrderedId(),
        read.actor.user_id,
        read.actor.role,
        read.resource_type,
        read.resource_id,
        read.viewed,
      ],
    )) as { role: UserView['role'] }[];
    return owner?.role ?? null;
  }

  /** An action reported by another module; a second copy of the same event adds nothing. */
  async recordReported(m: EntityManager, event: StaffActionRecordedEvent): Promise<void> {
    await m.query(
      `INSERT INTO users.audit_log (id, actor_id, actor_role, action, target_user_id, resource_type, resource_id,
                                    before, after, reason, details, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{}', $11)
       ON CONFLICT (id) DO NOTHING`,
      [
        event.event_id,
        event.actor_id,
        event.actor_role,
        event.action,
        event.target_user_id,
        event.resource_type,
        event.resource_id,
        event.before === null ? null : JSON.stringify(event.before),
        event.after === null ? null : JSON.stringify(event.after),
        event.reason,
        event.occurred_at,
      ],
    );
  }
}
