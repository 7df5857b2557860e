import { Injectable } from '@nestjs/common';
import type { UserDisabledEvent, UserRoleChangedEvent } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import { SessionStore } from './session.store';

/**
 * A disabled user's sessions end, and so do those of a user whose role changed (their tokens carry the
 * old role): refresh tokens stop working on every device, and with them the access tokens (the guard
 * checks the session).
 */
@Injectable()
export class SessionsRevoker {
  constructor(
    private readonly inbox: InboxService,
    private readonly sessions: SessionStore,
  ) {}

  @OnEvent('user.disabled')
  async onUserDisabled(event: UserDisabledEvent): Promise<void> {
    // Revoking is idempotent, so a retry after a failed commit does no harm.
    await this.inbox.once('auth', 'SessionsRevoker.onUserDisabled', event.event_id, async () => {
      await this.sessions.revokeAll(event.user_id);
    });
  }

  @OnEvent('user.role_changed')
  async onRoleChanged(event: UserRoleChangedEvent): Promise<void> {
    await this.inbox.once('auth', 'SessionsRevoker.onRoleChanged', event.event_id, async () => {
      await this.sessions.revokeAll(event.user_id);
    });
  }
}
