import type { Queue } from 'bullmq';
import { AppError } from '../errors/app-error';

const ADD_TIMEOUT_MS = 3000;

/**
 * Adds jobs, or throws 503 `queue_unavailable` when Redis has not taken them within ADD_TIMEOUT_MS or
 * refused them: a queue that never reached Redis waits for it instead of failing, and a caller must not
 * hang on it. If Redis takes them later after all, job ids (when given) keep that from doubling anything.
 */
export async function addJobs<T>(queue: Queue<T>, jobs: Parameters<Queue<T>['addBulk']>[0]): Promise<void> {
  if (jobs.length === 0) return;
  const unavailable = () => new AppError(503, 'queue_unavailable', 'The job queue is unavailable; try again');
  const adding = queue.addBulk(jobs);
  adding.catch(() => undefined); // settled by the race below, or too late to matter
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable()), ADD_TIMEOUT_MS);
  });
  try {
    await Promise.race([adding, timeout]);
  } catch (err) {
    // A Redis error (the producer connection fails fast while Redis is away) is the same outage.
    throw err instanceof AppError ? err : unavailable();
  } finally {
    clearTimeout(timer);
  }
}
