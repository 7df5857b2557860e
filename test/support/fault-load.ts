/**
 * Transfers in a loop while faults are injected, counted per fault: the load both fault suites drive
 * (test/faults.e2e-spec.ts against host processes, the split container suite against containers).
 */
import { randomInt } from 'node:crypto';
import request from 'supertest';
import type { Actor } from './actors';
import { deposit, openAccount, transfer, verifiedCustomer, type Account } from './banking';
import type { EventAudit } from './event-audit';
import { eventually } from './test-env';
import type { Running } from './topologies';

export interface FaultWindow {
  fault: string;
  ok: number;
  failed: number;
  other: number;
  readySeconds?: number;
  /** The transfers answered 201 in this window. */
  ids: string[];
}

export interface TransferLoad {
  /** The payers' accounts (every entry they pay is audited). */
  payerAccounts: string[];
  /** Ids of the transfers answered 201. */
  committed: Set<string>;
  windows: FaultWindow[];
  /** Closes the current window and opens one for `fault`. */
  next(fault: string): FaultWindow;
  stop(): Promise<void>;
}

/** `pairs` customers paying `pairs` others in a loop through `running.baseUrl`, one loop per pair. */
export async function startTransferLoad(
  running: Running,
  admin: Actor,
  pairs: number,
  tag: string,
): Promise<TransferLoad> {
  const customers: { payer: Actor; from: Account; to: Account }[] = [];
  for (let i = 0; i < pairs; i++) {
    const payer = await verifiedCustomer(running, admin, `${tag}.payer${i}`);
    const payee = await verifiedCustomer(running, admin, `${tag}.payee${i}`);
    const from = await openAccount(running, payer);
    const to = await openAccount(running, payee);
    await deposit(running, admin, from, 10_000_000);
    customers.push({ payer, from, to });
  }
  const committed = new Set<string>();
  const windows: FaultWindow[] = [];
  let window: FaultWindow = { fault: 'none', ok: 0, failed: 0, other: 0, ids: [] };
  windows.push(window);
  let stopping = false;
  const loops = customers.map(async ({ payer, from, to }) => {
    while (!stopping) {
      const res = await transfer(running, payer, {
        from_account_id: from.id,
        to_account_number: to.account_number,
        amount: randomInt(1, 100),
        currency: 'GBP',
      })
        .timeout(15_000)
        .catch((err: { status?: number }) => ({ status: err.status ?? 599, body: {} as { id?: string } }));
      if (res.status === 201) {
        window.ok++;
        window.ids.push((res.body as { id: string }).id);
        committed.add((res.body as { id: string }).id);
      } else if (res.status >= 500) window.failed++;
      else window.other++;
      if (res.status !== 201) await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    payerAccounts: customers.map((c) => c.from.id),
    committed,
    windows,
    next(fault) {
      window = { fault, ok: 0, failed: 0, other: 0, ids: [] };
      windows.push(window);
      return window;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** Waits until `url`'s /health/ready answers 200; answers the seconds it took. */
export async function secondsToReady(baseUrl: string, since: number, what: string): Promise<number> {
  await eventually(
    async () =>
      (
        await request(baseUrl)
          .get('/health/ready')
          .timeout(5000)
          .catch(() => undefined)
      )?.status === 200
        ? true
        : undefined,
    180_000,
    what,
  );
  return (Date.now() - since) / 1000;
}

/** The audit once every event in flight had its chance to arrive (60 s at most). */
export async function settledAudit(audit: () => Promise<EventAudit>): Promise<EventAudit> {
  let last = await audit();
  await eventually(
    async () => {
      last = await audit();
      return last.lost.length === 0 ? true : undefined;
    },
    60_000,
    'every committed transfer notified and counted',
  ).catch(() => undefined);
  return last;
}

/**
 * fault | 2xx | 5xx | seconds to ready | events lost | events doubled, each lost or doubled event counted
 * in the window its transfer was answered in (one that committed without a 201 is counted in the summary).
 */
export function faultTable(title: string, load: TransferLoad, audit: EventAudit): string {
  const width = Math.max(5, ...load.windows.map((w) => w.fault.length));
  const count = (rows: EventAudit['lost'], w: FaultWindow) => {
    const ids = new Set(w.ids);
    return new Set(rows.filter((r) => ids.has(r.entry_id)).map((r) => r.entry_id)).size;
  };
  return [
    `${title}:`,
    `  ${'fault'.padEnd(width)}   2xx   5xx  other  seconds to ready  events lost  events doubled`,
    ...load.windows.map(
      (w) =>
        `  ${w.fault.padEnd(width)} ${String(w.ok).padStart(5)}  ${String(w.failed).padStart(4)}  ${String(w.other).padStart(5)}  ${(w.readySeconds?.toFixed(1) ?? '-').padStart(16)}  ${String(count(audit.lost, w)).padStart(11)}  ${String(count(audit.doubled, w)).padStart(14)}`,
    ),
    `  committed transfers: ${audit.entries} (201s: ${load.committed.size}); transfers with an event lost: ${new Set(audit.lost.map((r) => r.entry_id)).size}, doubled: ${new Set(audit.doubled.map((r) => r.entry_id)).size}`,
    '',
  ].join('\n');
}
