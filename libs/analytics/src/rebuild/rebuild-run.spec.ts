import { AppError } from '@protobank/platform';
import { RebuildRun, RebuildStopped, failureText } from './rebuild-run';

const ID = '0190f1c2-0000-7000-8000-000000000001';

describe('failureText (what staff read of a failed rebuild)', () => {
  it("tells the rebuild's own reasons as they are", () => {
    expect(failureText(new RebuildStopped('interrupted: the process stopped'), ID)).toBe(
      'interrupted: the process stopped',
    );
  });

  it('tells an AppError by its code and client-safe message', () => {
    const err = new AppError(
      504,
      'dependency_timeout',
      'A service this request needs did not answer in time',
    );
    expect(failureText(err, ID)).toBe(
      'dependency_timeout: A service this request needs did not answer in time',
    );
  });

  it('tells a database error only by its SQLSTATE, never its message, and where the log has it', () => {
    const err = Object.assign(
      new Error('duplicate key value violates unique constraint "movements_rebuild_pkey" (secret=42)'),
      { code: '23505' },
    );
    const text = failureText(err, ID);
    expect(text).toBe(`unexpected error (SQLSTATE 23505): the app's log has it under rebuild_id ${ID}`);
    expect(text).not.toContain('movements_rebuild_pkey');
  });

  it('tells anything else without its message', () => {
    for (const err of [
      new Error('connect ECONNREFUSED 10.1.2.3:5432'),
      'a string',
      null,
      { code: 'ECONNRESET' },
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), // five letters, but Node's, not a SQLSTATE
    ]) {
      const text = failureText(err, ID);
      expect(text).toBe(`unexpected error: the app's log has it under rebuild_id ${ID}`);
    }
  });
});

describe('RebuildRun.run on failure', () => {
  it('records the safe text, and logs the whole error under the rebuild id', async () => {
    const secret = new Error('relation "analytics.movements_rebuild" does not exist at host db-internal-7');
    const recorded: unknown[][] = [];
    const dataSource = {
      query: jest.fn(async (sql: string, params?: unknown[]) => {
        if (sql.includes("status = 'failed'")) {
          recorded.push(params ?? []);
          return [[], 1];
        }
        throw Object.assign(secret, { code: '42P01' });
      }),
    };
    const logger = { error: jest.fn(), info: jest.fn(), warn: jest.fn() };
    const run = new RebuildRun(
      dataSource as never,
      {} as never,
      {} as never,
      logger as never,
      { bankTimeZone: 'Europe/London' } as never,
    );
    await run.run(ID, new Date(), () => false);
    expect(recorded).toEqual([
      [ID, `unexpected error (SQLSTATE 42P01): the app's log has it under rebuild_id ${ID}`],
    ]);
    expect(logger.error).toHaveBeenCalledWith({ err: secret, rebuild_id: ID }, 'analytics rebuild failed');
  });
});
