import { Controller } from '@nestjs/common';
import type { UserDisabledEvent, UserRoleChangedEvent } from '@protobank/contracts';
import { OnEvent } from '@protobank/platform';
import { SessionsRevoker } from './sessions-revoker';

/**
 * The events that end a user's sessions (SessionsRevoker says why). A controller because Nest finds
 * @EventPattern (our @OnEvent) on controllers only; the revoker stays a provider, as AUTH_API uses it.
 */
@Controller()
export class SessionsEventsController {
  constructor(private readonly revoker: SessionsRevoker) {}

  @OnEvent('user.disabled')
  async onUserDisabled(event: UserDisabledEvent): Promise<void> {
    await this.revoker.revokeFor(event.event_id, event.user_id);
  }

  @OnEvent('user.role_changed')
  async onRoleChanged(event: UserRoleChangedEvent): Promise<void> {
    await this.revoker.revokeFor(event.event_id, event.user_id);
  }
}
