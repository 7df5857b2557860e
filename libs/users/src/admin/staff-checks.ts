import { AppError, type Caller } from '@protobank/platform';
import type { EntityManager } from 'typeorm';
import { UserEntity } from '../profiles/user.entity';

/**
 * A staff action is checked against the actor's row, locked, inside the action's transaction: an access
 * token minted before a demotion or a disabling carries a role the user no longer has.
 */
export async function assertActiveRole(
  m: EntityManager,
  actor: Caller,
  roles: UserEntity['role'][],
): Promise<void> {
  const row = await m
    .getRepository(UserEntity)
    .findOne({ where: { id: actor.user_id }, lock: { mode: 'pessimistic_read' } });
  if (!row || row.disabled_at !== null || !roles.includes(row.role)) {
    throw new AppError(403, 'forbidden', 'Your role does not allow this');
  }
}

/**
 * Refuses to remove the last active admin. Locks every active admin row first, so two admins demoting
 * each other at the same moment cannot both succeed.
 */
export async function assertAnotherAdmin(m: EntityManager, losing: string): Promise<void> {
  const admins = (await m.query(
    `SELECT id FROM users.users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE`,
  )) as { id: string }[];
  if (!admins.some((a) => a.id !== losing)) {
    throw AppError.unprocessable('last_admin', 'This would leave no active admin');
  }
}
