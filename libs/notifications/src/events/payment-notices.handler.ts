import { Controller } from '@nestjs/common';
import type { PaymentExecutedEvent, PaymentFailedEvent } from '@protobank/contracts';
import { OnEvent } from '@protobank/platform';
import { paymentExecutedDraft, paymentFailedDraft } from '../compose/messages';
import { Notifier } from '../compose/notifier';

const EXECUTED = 'PaymentNoticesHandler.onPaymentExecuted';
const FAILED = 'PaymentNoticesHandler.onPaymentFailed';

/**
 * Tells the payer what became of each standing-order or scheduled payment. The event carries all the
 * text needs (the payee's name as the customer saved it), so there is no call to make before the
 * Notifier's transaction, whose inbox record makes a redelivered event add nothing.
 */
@Controller()
export class PaymentNoticesHandler {
  constructor(private readonly notifier: Notifier) {}

  @OnEvent('payment.executed')
  async onPaymentExecuted(event: PaymentExecutedEvent): Promise<void> {
    await this.notifier.notify(EXECUTED, event.event_id, [paymentExecutedDraft(event)]);
  }

  @OnEvent('payment.failed')
  async onPaymentFailed(event: PaymentFailedEvent): Promise<void> {
    await this.notifier.notify(FAILED, event.event_id, [paymentFailedDraft(event)]);
  }
}
