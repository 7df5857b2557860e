import { AppError, type Caller } from '@protobank/platform';
import type { EntityManager } from 'typeorm';
import { UserEntity } from '../profiles/user.entity';

/**
 * A staff action is checked against the actor's row, locked, inside the action's transaction: an access
 * token minted before a demotion or a disabling carries a role the user no longer has. A read, which
 * changes nothing, checks it without the lock (`lock: false`: no transaction needed).
 */
export async function assertActiveRole(
  m: EntityManager,
  actor: Caller,
  roles: UserEntity['role'][],
  { lock = true }: { lock?: boolean } = {},
): Promise<void> {
  const row = await m.getRepository(UserEntity).findOne({
    where: { id: actor.user_id },
    ...(lock ? { lock: { mode: 'pessimistic_read' as const } } : {}),
  });
  if (!row || row.disabled_at !== null || !roles.includes(row.role)) {
    throw new AppError(403, 'forbidden', 'Your role does not allow this');
  }
}

/**
 * Locks the actor's row and the target's, in id order and in one statement (FOR UPDATE, the mode and order
 * of lockForAdminChange, whose rows include these two whenever the actor is an admin), then checks that
 * the actor is still active in one of `roles`; answers the target's role as locked. A staff action that
 * goes on to lock other rows (a KYC submission, then the target's profile) takes this first: two staff
 * acting on each other at once queue on it instead of each holding their own row while waiting for the
 * other's.
 */
export async function lockActorAndTarget(
  m: EntityManager,
  actor: Caller,
  target: string,
  roles: UserEntity['role'][],
): Promise<{ targetRole: UserEntity['role'] | undefined }> {
  const rows = (await m.query(
    `SELECT id, role, disabled_at FROM users.users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    [[actor.user_id, target]],
  )) as Pick<UserEntity, 'id' | 'role' | 'disabled_at'>[];
  const me = rows.find((r) => r.id === actor.user_id);
  if (!me || me.disabled_at !== null || !roles.includes(me.role)) {
    throw new AppError(403, 'forbidden', 'Your role does not allow this');
  }
  return { targetRole: rows.find((r) => r.id !== actor.user_id)?.role };
}

/**
 * Locks, in id order and in one statement, the actor, the target and every active admin, then checks that
 * the actor is still an active admin. Every admin change takes this same lock first, so two admins
 * demoting each other at once run one after the other: the second finds its actor demoted (403).
 */
export async function lockForAdminChange(m: EntityManager, actor: Caller, target: string): Promise<void> {
  const rows = (await m.query(
    `SELECT id, role, disabled_at FROM users.users
      WHERE id = $1 OR id = $2 OR (role = 'admin' AND disabled_at IS NULL)
      ORDER BY id FOR UPDATE`,
    [actor.user_id, target],
  )) as { id: string; role: string; disabled_at: Date | null }[];
  const me = rows.find((r) => r.id === actor.user_id);
  if (!me || me.role !== 'admin' || me.disabled_at !== null)
    throw new AppError(403, 'forbidden', 'Your role does not allow this');
}

/** Refuses to remove the last active admin (the rows are already locked by lockForAdminChange). */
export async function assertAnotherAdmin(m: EntityManager, losing: string): Promise<void> {
  const admins = (await m.query(
    `SELECT id FROM users.users WHERE role = 'admin' AND disabled_at IS NULL`,
  )) as {
    id: string;
  }[];
  if (!admins.some((a) => a.id !== losing)) {
    throw AppError.unprocessable('last_admin', 'This would leave no active admin');
  }
}
