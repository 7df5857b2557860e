import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';

/** One job per delivery row and generation: the row is the record, the job only says "send it now". */
export interface DeliveryJob {
  delivery_id: string;
  generation: number;
}

/**
 * The notifications module's BullMQ queues: their names, and the job data of each. Every module that has
 * queues keeps one such map (a new module's go in its own `queues.ts`, registered with
 * `BullModule.registerQueue(Async)` in that module; see QueuesModule in the platform).
 */
export const NotificationQueues = { deliveries: 'notification-deliveries' } as const;

export interface NotificationJobs {
  [NotificationQueues.deliveries]: DeliveryJob;
}

type Name = keyof typeof NotificationQueues;

/** The queue of that name, typed with its job data. */
export type NotificationQueue<N extends Name> = Queue<NotificationJobs[(typeof NotificationQueues)[N]]>;

/** `@InjectQueue` for a queue of this module: `@InjectNotificationQueue('deliveries')`. */
export const InjectNotificationQueue = (name: Name) => InjectQueue(NotificationQueues[name]);
