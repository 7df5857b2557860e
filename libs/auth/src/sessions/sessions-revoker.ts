import { Injectable } from '@nestjs/common';
import type { UserDisabledEvent } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import { SessionStore } from './session.store';

/** A disabled user's sessions end: their refresh tokens stop working on every device. */
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
}
