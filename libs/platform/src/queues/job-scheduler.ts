import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQueue = Queue<any, any, string>;
type Upsert<Q extends AnyQueue> = Parameters<Q['upsertJobScheduler']>;

/**
 * Sets up a BullMQ job scheduler (one per id, however many instances upsert it) and keeps trying until
 * Redis takes it: a scheduler that failed once at boot (Redis away, or a command timing out under load)
 * would otherwise leave its sweep unscheduled until the next restart. Retries back off from 2 s to a
 * minute; the returned function stops them (call it at shutdown). Timers are unref'd.
 *
 * `runNow`: a job now too, at every boot. A new `every` scheduler makes its first job at once, but one
 * that exists (an app restarted) keeps its next time, up to an interval away; so when it existed, one job
 * from the template is added now (deduplicated, so instances booting together add one).
 */
export function keepJobScheduler<Q extends AnyQueue>(
  queue: Q,
  id: Upsert<Q>[0],
  repeat: Upsert<Q>[1],
  template: Upsert<Q>[2],
  logger: Logger,
  options: { runNow?: boolean } = {},
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      const existed = options.runNow && (await queue.getJobScheduler(id)) !== undefined;
      await queue.upsertJobScheduler(id, repeat, template);
      if (existed) {
        await queue.add(template?.name ?? id, template?.data, {
          ...template?.opts,
          deduplication: { id: `${id}:now` },
        });
      }
      if (delayMs > FIRST_RETRY_MS) logger.info({ scheduler: id }, 'job scheduler set up');
    } catch (err) {
      if (stopped) return;
      logger.warn({ err, scheduler: id, retry_in_ms: delayMs }, 'job scheduler not set up yet');
      timer = setTimeout(() => void attempt(Math.min(delayMs * 2, MAX_RETRY_MS)), delayMs);
      timer.unref();
    }
  };
  void attempt(FIRST_RETRY_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
