import { Controller } from '@nestjs/common';
import type { StaffActionRecordedEvent } from '@protobank/contracts';
import { InboxService, OnEventBatch } from '@protobank/platform';
import { AuditLog } from './audit-log';

/** The inbox's name for this consumer (as when it took one event at a time: its records still count). */
const CONSUMER = 'StaffActionsAudit.onRecorded';

/**
 * Files the staff actions other modules report (the ledger's freezes, limits, deposits and reversals;
 * cards' and payments' actions) in the audit trail: once per event, whichever order and however often
 * they arrive. A batch of events (what the relay or a prefetch window delivered together) is filed in
 * one transaction with its inbox records: under a flood of staff deposits, one commit for many entries
 * rather than one each.
 */
@Controller()
export class StaffActionsAudit {
  constructor(
    private readonly inbox: InboxService,
    private readonly auditLog: AuditLog,
  ) {}

  @OnEventBatch('staff_action.recorded')
  async onRecorded(events: StaffActionRecordedEvent[]): Promise<void> {
    await this.inbox.onceEach('users', CONSUMER, events, (m, fresh) =>
      this.auditLog.recordReported(m, fresh),
    );
  }
}
