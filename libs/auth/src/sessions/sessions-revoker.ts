import { Injectable } from '@nestjs/common';
import { InboxService } from '@protobank/platform';
import { SessionStore } from './session.store';

/** One inbox consumer for both events and the direct call, so whichever comes first handles an event. */
const CONSUMER = 'SessionsRevoker.revoke';

/**
 * A disabled user's sessions end, and so do those of a user whose role changed (their tokens carry the
 * old role): refresh tokens stop working on every device, and with them the access tokens (the guard
 * checks the session). Users asks for it directly (AUTH_API.revokeSessions) after its commit and before
 * it answers, so it holds when the admin's request returns; the events are the at-least-once safety net
 * for when that call fails. The call records the events as handled: delivered afterwards, they end
 * nothing, so a session the user opened since (after a re-enable, or with their new role) survives.
 */
@Injectable()
export class SessionsRevoker {
  constructor(
    private readonly inbox: InboxService,
    private readonly sessions: SessionStore,
  ) {}

  async revokeNow(userId: string, eventIds: string[]): Promise<number> {
    const revoked = await this.sessions.revokeAll(userId);
    // After the revocation: if recording fails, the event still comes and revokes again (harmless).
    for (const eventId of eventIds) await this.inbox.once('auth', CONSUMER, eventId, async () => {});
    return revoked;
  }

  /** An event's revocation, once per event (the inbox also holds the ones revokeNow recorded). */
  async revokeFor(eventId: string, userId: string): Promise<void> {
    // Revoking is idempotent, so a retry after a failed commit does no harm.
    await this.inbox.once('auth', CONSUMER, eventId, async () => {
      await this.sessions.revokeAll(userId);
    });
  }
}
