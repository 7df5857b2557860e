import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { producerConnection, queuePrefix, WaitingWorker } from './queue-connections';
import { QueueMetrics } from './queue-metrics';

/**
 * BullMQ through @nestjs/bullmq: the connection and key prefix that every queue and worker of the app
 * shares. A module that owns queues imports this module (from `@protobank/platform/queues`, so apps
 * without queues never load BullMQ); it lists its queues in its own typed map (`queues.ts`, names →
 * job data), registers them with `BullModule.registerQueue(Async)`, adds jobs through `@InjectQueue` and
 * `addJobs`, and processes them in a `@Processor` class extending `QueueWorker`.
 *
 * Shutdown: each QueueWorker closes its worker before the app's other hooks (it finishes the jobs it
 * holds while the database is still open); @nestjs/bullmq then closes the queues, and BullMQ the
 * connections it opened from these options.
 *
 * Metrics: QueueMetrics reports every queue of the app as bullmq_jobs{queue,state}.
 */
@Module({
  providers: [QueueMetrics],
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: producerConnection(config),
        prefix: queuePrefix(config),
      }),
    }),
  ],
})
export class QueuesModule {
  static {
    BullModule.workerClass = WaitingWorker;
  }
}
