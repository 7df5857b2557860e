import { Injectable } from '@nestjs/common';
import type { Caller } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditEntryEntity } from './audit-entry.entity';

/** Appends a staff action to the audit trail, in the caller's transaction (so it exists iff the change does). */
@Injectable()
export class AuditLog {
  record(
    m: EntityManager,
    actor: Caller,
    action: AuditEntryEntity['action'],
    target: string,
    details: Record<string, unknown> = {},
  ): Promise<unknown> {
    return m.getRepository(AuditEntryEntity).insert({
      id: randomUUID(),
      actor_id: actor.user_id,
      action,
      target_user_id: target,
      // TypeORM's deep-partial type cannot express a free-form jsonb object.
      details: details as never,
    });
  }
}
