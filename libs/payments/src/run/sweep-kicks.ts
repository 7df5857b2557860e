import { Inject, Injectable } from '@nestjs/common';
import { LOGGER } from '@protobank/platform';
import { addJobs } from '@protobank/platform/queues';
import type { Logger } from 'pino';
import { InjectPaymentQueue, type PaymentQueue } from './queues';

/**
 * Asks for a due sweep now (an order set up, or resumed, with a payment due today): the producer side
 * of the sweeps queue, for the order services; SweepProcessor is its worker and keeps the every-minute
 * schedule.
 */
@Injectable()
export class SweepKicks {
  constructor(
    @InjectPaymentQueue('sweeps') private readonly queue: PaymentQueue<'sweeps'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Kicks are deduplicated: one waits while another is waiting, and one made while a sweep runs follows
   * it (keepLastIfActive), so none is lost. Best effort: the order is saved either way, and without Redis
   * the sweep runs once it is back.
   */
  async kick(): Promise<void> {
    try {
      await addJobs(this.queue, [
        {
          name: 'sweep',
          data: { reason: 'kick' },
          opts: {
            deduplication: { id: 'kick', keepLastIfActive: true },
            removeOnComplete: true,
            removeOnFail: 100,
          },
        },
      ]);
    } catch (err) {
      this.logger.warn({ err }, 'payments sweep not kicked: the scheduler will run it');
    }
  }
}
