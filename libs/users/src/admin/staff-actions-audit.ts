import { Controller } from '@nestjs/common';
import type { StaffActionRecordedEvent } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import { AuditLog } from './audit-log';

/**
 * Files the staff actions other modules report (the ledger's freezes, limits, deposits and reversals;
 * cards and payments later) in the audit trail: once per event, whichever order and however often
 * they arrive.
 */
@Controller()
export class StaffActionsAudit {
  constructor(
    private readonly inbox: InboxService,
    private readonly auditLog: AuditLog,
  ) {}

  @OnEvent('staff_action.recorded')
  async onRecorded(event: StaffActionRecordedEvent): Promise<void> {
    await this.inbox.once('users', 'StaffActionsAudit.onRecorded', event.event_id, (m) =>
      this.auditLog.recordReported(m, event),
    );
  }
}
