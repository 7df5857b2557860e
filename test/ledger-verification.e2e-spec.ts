/**
 * The periodic ledger verification (LEDGER_VERIFY_INTERVAL_MINUTES) of the app hosting the ledger: it
 * runs after boot, reports ledger_verification_* on /metrics, turns ledger_verification_ok to 0 when a
 * balance no longer matches its postings (changed here in SQL, behind the ledger's back) and logs that
 * as an error; it never holds up a shutdown. (The schedule, 0 turning it off: ledger-verification-jobs
 * .spec.ts; a run at every boot, the schedule kept: job-scheduler.spec.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { processes, type AppProcess } from './support/processes';
import { createTestEnv, eventually, metricValue, scrapeMetrics, type TestEnv } from './support/test-env';

describe('periodic ledger verification', () => {
  let t: TestEnv;
  let db: Client;
  const children: AppProcess[] = [];

  beforeAll(async () => {
    t = await createTestEnv('verify');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
  });
  afterAll(async () => {
    for (const c of children) await processes.stop(c, 3000);
    await t?.cleanup();
  });

  async function monolith(name: string, env: Record<string, string> = {}) {
    const port = await processes.freePort();
    const logFile = join(t.logDir, `${name}.log`);
    const child = processes.spawnApp('monolith', { ...t.env, ...env, PORT: String(port) }, { logFile });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await processes.waitReady(`${url}/health/ready`, { children: [child] });
    return { child, url, logFile };
  }
  /** ledger_verification_ok once the app has verified (undefined until then). */
  const verified = async (url: string) => {
    const text = await scrapeMetrics(t, url);
    return /^ledger_verification_ok\{/m.test(text)
      ? metricValue(text, 'ledger_verification_ok', {})
      : undefined;
  };

  it('reports a clean ledger after boot, and a mismatch after the next boot, logged as an error', async () => {
    const first = await monolith('first');
    expect(await eventually(() => verified(first.url), 30000, 'the verification after boot')).toBe(1);
    const text = await scrapeMetrics(t, first.url);
    expect(metricValue(text, 'ledger_verification_last_run_timestamp_seconds', {})).toBeGreaterThan(0);
    expect(text).toMatch(/^ledger_verification_duration_seconds\{service="monolith"\} [\d.e-]+$/m);
    // What LedgerVerificationStale compares the last run's age with: the interval in seconds.
    expect(metricValue(text, 'ledger_verification_interval_seconds', {})).toBe(
      Number(t.env.LEDGER_VERIFY_INTERVAL_MINUTES ?? 60) * 60,
    );
    // SIGTERM: the app stops cleanly (the verification schedule holds nothing up).
    expect(await processes.stop(first.child)).toBe(0);

    // One system account's balance no longer is the sum of its postings.
    const [{ id }] = (
      await db.query(
        `UPDATE transactions.ledger_accounts SET balance = balance + 1
          WHERE id = (SELECT id FROM transactions.ledger_accounts WHERE kind = 'system' ORDER BY id LIMIT 1)
          RETURNING id`,
      )
    ).rows as { id: string }[];
    const second = await monolith('second');
    expect(await eventually(() => verified(second.url), 30000, 'the verification after boot')).toBe(0);
    const logged = readFileSync(second.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('ledger verification found mismatches'))
      .map((l) => JSON.parse(l) as { level: number; first: { account_id?: string }[] });
    expect(logged).toHaveLength(1);
    expect(logged[0].level).toBe(50); // error
    expect(logged[0].first).toContainEqual(expect.objectContaining({ account_id: id }));
    expect(await processes.stop(second.child)).toBe(0);
  });
});
