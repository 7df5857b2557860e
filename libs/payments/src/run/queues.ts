import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';

/** A due sweep: the job scheduler's every minute, or a kick after an order due today was set up. */
export interface SweepJob {
  reason: 'schedule' | 'kick';
}

/** The payments module's BullMQ queues (see NotificationQueues for the pattern). */
export const PaymentQueues = { sweeps: 'payment-sweeps' } as const;

export interface PaymentJobs {
  [PaymentQueues.sweeps]: SweepJob;
}

type Name = keyof typeof PaymentQueues;

export type PaymentQueue<N extends Name> = Queue<PaymentJobs[(typeof PaymentQueues)[N]]>;

export const InjectPaymentQueue = (name: Name) => InjectQueue(PaymentQueues[name]);
