import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AUTH_API, type AuthApi, type UserView } from '@protobank/contracts';
import {
  ALL_TIME,
  AppConfig,
  AppError,
  assertMaySeeOwner,
  assertSomethingToChange,
  keysetPage,
  LOGGER,
  OutboxService,
  period,
  StaffGate,
  staffActor,
  type Caller,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { Brackets, DataSource } from 'typeorm';
import { toView } from '../profiles/profiles.service';
import { UsersApiService } from '../users.api';
import { UserEntity } from '../profiles/user.entity';
import { AuditEntryEntity } from './audit-entry.entity';
import { AuditLog } from './audit-log';
import { assertAnotherAdmin, lockForAdminChange } from './staff-checks';
import type { AuditQuery, ListUsersQuery, UpdateUserDto } from './admin-users.dto';

const DEFAULT_LIMIT = 20;

/** An action on a user's own record: the user is both the target and the resource. */
const aboutUser = (id: string) => ({ target_user_id: id, resource_type: 'user' as const, resource_id: id });

/** Staff administration of users. Every change is written to the audit log in its own transaction. */
@Injectable()
export class AdminUsersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly auditLog: AuditLog,
    @Inject(AUTH_API) private readonly auth: AuthApi,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly gate: StaffGate,
    private readonly users: UsersApiService,
    private readonly config: AppConfig,
  ) {}

  /**
   * A staff member lists customers and themselves: a colleague's (a staff member's or an admin's) profile
   * is an admin's to read, as their accounts, money and KYC are (assertMaySeeOwner). An admin lists all.
   */
  async list(caller: Caller, q: ListUsersQuery) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    // One snapshot for the page and its filing: a user made staff meanwhile is filed as the page shows them.
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      const qb = m.getRepository(UserEntity).createQueryBuilder('u');
      if (caller.role !== 'admin') {
        qb.andWhere(`(u.role = 'customer' OR u.id = :me)`, { me: caller.user_id });
      }
      if (q.query) {
        const like = `%${q.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        qb.andWhere(
          new Brackets((w) =>
            w
              .where('u.email ILIKE :like', { like })
              // The Latin spelling verified with KYC (李小龍 found as "li xiaolong").
              .orWhere('u.latin_name ILIKE :like', { like })
              // Accents and typographic apostrophes aside: "zoe o'neil" finds Zoë O’Neil (users.folded). The
              // query is folded before its \ % _ are escaped: folding turns the full-width ＼ ％ ＿ into them.
              .orWhere(
                `users.folded(u.full_name) ILIKE
                   '%' || regexp_replace(users.folded(:query), '([\\\\%_])', '\\\\\\1', 'g') || '%'`,
                { query: q.query },
              ),
          ),
        );
      }
      const page = await keysetPage(
        qb,
        {
          alias: 'u',
          at: 'created_at',
          id: 'id',
          order: 'DESC',
          cursor: q.cursor,
          limit,
          position: (u) => u,
        },
        toView,
      );
      // Every profile listed but the caller's own is a read of it, filed before it is shown (one entry each).
      await this.auditLog.recordRead(m, {
        actor: staffActor(caller),
        owner_ids: page.data.map((u) => u.id).filter((id) => id !== caller.user_id),
        resource_type: 'user',
        viewed: 'profile',
      });
      return page;
    });
  }

  /**
   * 403 colleague_account for a staff member reading a colleague's profile (see list); another's read filed
   * in the audit trail (assertMaySeeOwner).
   */
  async get(caller: Caller, id: string): Promise<UserView> {
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id });
    if (!user) throw AppError.notFound('user', 'id');
    await assertMaySeeOwner(caller, user.id, this.users, {
      resource_type: 'user',
      resource_id: user.id,
      viewed: 'profile',
    });
    return toView(user);
  }

  async update(actor: Caller, id: string, change: UpdateUserDto): Promise<UserView> {
    // A change of nothing, named as every route names it (400 naming body).
    assertSomethingToChange(
      { role: change.role, disabled: change.disabled },
      'nothing to change',
      'give role or disabled',
    );
    // No staff action on one's own user: naming one's own role (which changes nothing) is refused as
    // disabling or demoting oneself is, so no change of an admin's own user is answered without audit.
    if (id === actor.user_id) {
      throw AppError.unprocessable(
        'self_lockout',
        'Admins cannot change their own user (role or disabled): ask another admin',
      ).logged({ security_event: 'own_user_refused', actor_id: actor.user_id });
    }
    // A staff action of this user's, or on their accounts, that is under way completes first, and none
    // starts until their sessions have ended (StaffGate): none completes after this answers, but for
    // one still running after 5 s (logged).
    return this.gate.changeUser(id, () => this.apply(actor, id, change));
  }

  private async apply(actor: Caller, id: string, change: UpdateUserDto): Promise<UserView> {
    // Asking again to disable a disabled user, or to give a user the role they now have, ends their
    // sessions again (revoking is idempotent): the retry after a 503 below, which writes no event, since
    // the first attempt committed the change.
    const endsSessions = change.disabled === true || change.role !== undefined;
    const sessionEvents: string[] = [];
    const view = await this.dataSource.transaction(async (m) => {
      sessionEvents.length = 0;
      let changed = false;
      // One ordered lock over everyone this decision reads (the actor, the target, every active admin), so
      // concurrent changes queue instead of deadlocking. The token says admin, but it may predate a
      // demotion: the locked rows decide.
      await lockForAdminChange(m, actor, id);
      const user = await m.getRepository(UserEntity).findOneBy({ id });
      if (!user) throw AppError.notFound('user', 'id');
      const losesAdmin =
        user.role === 'admin' &&
        ((change.role !== undefined && change.role !== 'admin') || change.disabled === true);
      if (losesAdmin) await assertAnotherAdmin(m, id);
      if (change.role !== undefined && change.role !== user.role) {
        await this.auditLog.record(m, actor, {
          action: 'role_changed',
          ...aboutUser(id),
          before: { role: user.role },
          after: { role: change.role },
          details: { from: user.role, to: change.role },
          reason: change.reason,
        });
        const event = await this.outbox.add(m, 'users', 'user.role_changed', {
          user_id: id,
          role: change.role,
          previous_role: user.role,
          actor_id: actor.user_id,
        });
        sessionEvents.push(event.event_id);
        user.role = change.role;
        changed = true;
      }
      if (change.disabled !== undefined && change.disabled !== (user.disabled_at !== null)) {
        user.disabled_at = change.disabled ? new Date() : null;
        await this.auditLog.record(m, actor, {
          action: change.disabled ? 'user_disabled' : 'user_enabled',
          ...aboutUser(id),
          before: { disabled: !change.disabled },
          after: { disabled: change.disabled },
          reason: change.reason,
        });
        if (change.disabled) {
          const event = await this.outbox.add(m, 'users', 'user.disabled', {
            user_id: id,
            actor_id: actor.user_id,
          });
          sessionEvents.push(event.event_id);
        }
        changed = true;
      }
      if (!changed && endsSessions) {
        // Nothing changes but the user's sessions end: that is a staff action on them too.
        await this.auditLog.record(m, actor, {
          action: 'sessions_ended',
          ...aboutUser(id),
          before: null,
          after: null,
          reason: change.reason,
          details: change.role !== undefined ? { role: change.role } : { disabled: true },
        });
      }
      await m.getRepository(UserEntity).save(user);
      // The answer shows the profile (e-mail, name), which no change entry holds: a read of it, filed
      // with the change, a change of nothing included (helper-113 read profiles through no-op changes).
      await this.auditLog.recordRead(m, {
        actor: staffActor(actor),
        owner_ids: [id],
        resource_type: 'user',
        resource_id: id,
        viewed: 'profile',
      });
      return toView(user);
    });
    if (sessionEvents.length > 0 || endsSessions) await this.endSessions(id, sessionEvents);
    return view;
  }

  /**
   * After the commit and before answering, so that the answer means the sessions are gone, in every app.
   * The events stay the at-least-once safety net: if this call fails, the change is committed all the
   * same and auth ends the sessions when the event reaches it, and the admin is told (503). Repeating
   * the request ends them at once.
   */
  private async endSessions(userId: string, eventIds: string[]): Promise<void> {
    try {
      await this.auth.revokeSessions({ user_id: userId, event_ids: eventIds });
    } catch (err) {
      this.logger.error({ err, user_id: userId }, 'sessions not ended at once: left to the events');
      throw new AppError(
        503,
        'sessions_not_ended',
        "The change is saved, but the user's sessions could not be ended at once: they end as soon as " +
          'the auth service receives the change',
      );
    }
  }

  /**
   * The audit trail, newest first, optionally by actor, user affected, action or resource (each filter has
   * its index). Entries reported by other modules arrive a moment after their action, with its time, so
   * one may land behind a page already read.
   */
  async auditTrail(actor: Caller, q: AuditQuery) {
    await this.auditLog.assertActiveReader(this.dataSource.manager, actor, 'audit_trail');
    const limit = q.limit ?? DEFAULT_LIMIT;
    const qb = this.dataSource.getRepository(AuditEntryEntity).createQueryBuilder('a');
    for (const field of ['actor_id', 'target_user_id', 'action', 'resource_id'] as const) {
      if (q[field] !== undefined) qb.andWhere(`a.${field} = :${field}`, { [field]: q[field] });
    }
    // Literals, not parameters: the actions' page walks the partial index of that predicate (migration 047).
    if (q.kind === 'actions') qb.andWhere(`a.action <> 'customer_data_viewed'`);
    if (q.kind === 'reads') qb.andWhere(`a.action = 'customer_data_viewed'`);
    if (q.from !== undefined || q.to !== undefined) {
      const { from, to } = period(q.from, q.to, ALL_TIME, this.config.bankTimeZone);
      qb.andWhere('a.created_at >= :from AND a.created_at < :to', { from, to });
    }
    return keysetPage(
      qb,
      { alias: 'a', at: 'created_at', id: 'id', order: 'DESC', cursor: q.cursor, limit, position: (a) => a },
      (a) => ({ ...a, created_at: a.created_at.toISOString() }),
    );
  }
}
