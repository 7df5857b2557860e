import type { Queue } from 'bullmq';
import { LedgerVerificationJobs, type LedgerVerificationJobData } from './ledger-verification-jobs';

const RESULT = { ok: true, mode: 'full' };

/**
 * A queue whose one job finishes after `readsBeforeDone` reads (of its state or of the job): a run that
 * completes between two reads of one GET, at every possible point.
 */
function finishingQueue(readsBeforeDone: number): Queue<LedgerVerificationJobData> {
  let reads = 0;
  const done = () => reads++ >= readsBeforeDone;
  const job = (finished: boolean) => ({
    id: 'v1',
    data: { mode: 'full', requested_by: 'u1' },
    timestamp: 1_000,
    processedOn: 2_000,
    finishedOn: finished ? 3_000 : undefined,
    returnvalue: finished ? RESULT : null,
    failedReason: undefined,
  });
  return {
    getJobState: () => Promise.resolve(done() ? 'completed' : 'active'),
    getJob: () => Promise.resolve(job(done())),
  } as unknown as Queue<LedgerVerificationJobData>;
}

describe('LedgerVerificationJobs.get', () => {
  it.each([0, 1, 2])(
    'never answers completed without its result, whenever the run finishes (after %i reads)',
    async (readsBeforeDone) => {
      const view = await new LedgerVerificationJobs(finishingQueue(readsBeforeDone)).get('v1');
      if (view.status === 'completed') {
        expect(view.result).toEqual(RESULT);
        expect(view.finished_at).toBe(new Date(3_000).toISOString());
      } else {
        expect(view).toMatchObject({ status: 'running', result: null });
      }
    },
  );

  it('answers completed with the result once the run has finished', async () => {
    const view = await new LedgerVerificationJobs(finishingQueue(0)).get('v1');
    expect(view).toMatchObject({
      status: 'completed',
      result: RESULT,
      started_at: new Date(2_000).toISOString(),
    });
  });
});
