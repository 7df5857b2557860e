import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQueue = Queue<any, any, string>;
type Upsert<Q extends AnyQueue> = Parameters<Q['upsertJobScheduler']>;

/**
 * Runs `step` until it succeeds, backing off from 2 s to a minute between tries and logging each failure
 * under `what`: a queue setting made at boot (Redis away, or a command timing out under load) would
 * otherwise be left unmade until the next restart. The returned function stops the tries (call it at
 * shutdown). Timers are unref'd.
 */
export function keepTrying(what: string, step: () => Promise<unknown>, logger: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      await step();
      if (delayMs > FIRST_RETRY_MS) logger.info({ what }, `${what}: done`);
    } catch (err) {
      if (stopped) return;
      logger.warn({ err, what, retry_in_ms: delayMs }, `${what}: not yet`);
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

/**
 * Sets up a BullMQ job scheduler (one per id, however many instances upsert it), trying until Redis takes
 * it (keepTrying): a scheduler that failed once at boot would otherwise leave its sweep unscheduled until
 * the next restart.
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
  return keepTrying(
    `job scheduler ${id}`,
    async () => {
      const existed = options.runNow && (await queue.getJobScheduler(id)) !== undefined;
      await queue.upsertJobScheduler(id, repeat, template);
      if (existed) {
        await queue.add(template?.name ?? id, template?.data, {
          ...template?.opts,
          deduplication: { id: `${id}:now` },
        });
      }
    },
    logger,
  );
}
