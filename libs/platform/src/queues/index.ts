/**
 * BullMQ for the modules that own queues (cards, notifications, payments, transactions), imported as
 * `@protobank/platform/queues` rather than from the platform's main entry: BullMQ and @nestjs/bullmq cost
 * an app about 6 MB of RSS, and the apps without queues (auth, users, accounts, analytics) never load them
 * (bench:memory, issue 14).
 */
export * from './add-jobs';
export * from './job-scheduler';
export * from './queue-connections';
export * from './queue-metrics';
export * from './queue-worker';
export * from './queues.module';
