import { QueryFailedError, type DataSourceOptions } from 'typeorm';

/**
 * A migration that waits for a lock held by the traffic (an ALTER TABLE behind a long report, say) makes
 * every later query on that table queue behind its own pending lock: the bank stops for as long as the
 * blocker runs. migrate therefore gives up on a lock after MIGRATION_LOCK_TIMEOUT_MS (Postgres's
 * `lock_timeout` for its session), which rolls back that migration's transaction (the ones before it stay
 * applied), waits, and tries again, up to MIGRATION_LOCK_ATTEMPTS times. A deadlock with the traffic that
 * Postgres resolved by cancelling the migration is retried the same way.
 */
export interface LockPatience {
  /** Postgres's lock_timeout for migrate's session, ms; 0 waits without limit (Postgres's default). */
  lockTimeoutMs: number;
  attempts: number;
}

/** lock_not_available (a lock_timeout) and deadlock_detected: the same migration may succeed later. */
const RETRYABLE = new Set(['55P03', '40P01']);
const MAX_DELAY_MS = 30_000;

/** The options for migrate's DataSource: every connection it opens has the lock timeout. */
export function withLockTimeout(options: DataSourceOptions, patience: LockPatience): DataSourceOptions {
  if (options.type !== 'postgres' || patience.lockTimeoutMs === 0) return options;
  return { ...options, extra: { ...options.extra, lock_timeout: patience.lockTimeoutMs } };
}

/** The SQLSTATE of a lock wait that gave up or a deadlock victim; undefined for any other error. */
export function retryableLockFailure(err: unknown): string | undefined {
  if (!(err instanceof QueryFailedError)) return undefined;
  const code = (err.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE.has(code) ? code : undefined;
}

/**
 * The pause before attempt `attempt + 1`: the lock timeout doubled at each failure (at least 250 ms),
 * capped at 30 s, so the traffic gets the table back for longer than the migration held it up.
 */
export function retryDelayMs(lockTimeoutMs: number, attempt: number): number {
  return Math.min(Math.max(lockTimeoutMs, 250) * 2 ** (attempt - 1), MAX_DELAY_MS);
}

export interface LockRetry {
  attempt: number;
  code: string;
  message: string;
  /** The statement that waited, its first line: which table the blocker holds. */
  statement: string;
  delayMs: number;
}

/**
 * Runs `work` (a run or a revert of migrations, each in its own transaction) until it succeeds, fails for
 * another reason, or has failed on a lock `patience.attempts` times; then the last error is thrown.
 */
export async function withLockRetries<T>(
  patience: LockPatience,
  work: () => Promise<T>,
  onRetry: (retry: LockRetry) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = retryableLockFailure(err);
      if (code === undefined || attempt >= patience.attempts) throw err;
      const delayMs = retryDelayMs(patience.lockTimeoutMs, attempt);
      onRetry({
        attempt,
        code,
        message: (err as Error).message,
        statement: lockedStatement(err),
        delayMs,
      });
      await sleep(delayMs);
    }
  }
}

/** The first line of the statement a lock failure cancelled (the migration's SQL, which holds no secret). */
export function lockedStatement(err: unknown): string {
  const query = err instanceof QueryFailedError ? err.query : undefined;
  const line = (query ?? '').trim().split('\n', 1)[0];
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
