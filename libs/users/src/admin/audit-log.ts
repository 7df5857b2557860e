import { Injectable } from '@nestjs/common';
import type { AuditResourceType, AuditState, StaffActionRecordedEvent } from '@protobank/contracts';
import type { Caller } from '@protobank/platform';
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
