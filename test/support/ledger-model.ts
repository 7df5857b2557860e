/**
 * A sequential model of customer transfers, to check that what a storm of concurrent transfers did is
 * what SOME one-at-a-time order of the same requests would have done (ledger-model.scenarios.ts).
 *
 * It knows the ledger only through the API (the requests and their answers) and its tables (entries,
 * and postings with the account version and balance after each), never through how the ledger decides:
 * one Postgres transaction per transfer or a batch of them, the check is the same.
 * - Each account's postings in version order are the order in which money moved on that account.
 *   A topological sort of those per-account orders gives one global order of the posted transfers
 *   (a cycle means no sequential order exists).
 * - Replayed in that order from the state before the storm, each posted transfer must be one the rules
 *   allow at that point, and each refused request must be refused by exactly its answer's rule at some
 *   point (a refusal changes nothing, so it may go anywhere). A refusal depends only on the rows of its
 *   two accounts, and every gap between two postings of one account appears in any order the sort
 *   gives, so trying every point of one such order is enough.
 * - One key, one decision: requests sharing a caller's key and body get one answer (all but one marked
 *   replayed), another body under a decided key gets 422 idempotency_key_reused, and a key posts at most
 *   once.
 * - A request answered 503 (a dependency unavailable: its outcome unknown to the client) or 408 (not
 *   read in time) is retried by the caller with its key and body, as the answer says to, and the retry's
 *   answer is the one checked: a replay when the first attempt was decided after all, a decision of its
 *   own otherwise.
 */

export type AccountStatus = 'active' | 'frozen' | 'closed';

/** A customer ledger account as the model holds it. */
export interface ModelAccount {
  id: string;
  /** A short name for messages (A0, A1, ...). */
  label: string;
  owner: string;
  currency: string;
  status: AccountStatus;
  balance: number;
  held: number;
  overdraftLimit: number;
}

export interface TransferBody {
  from_account_id: string;
  to_account_id: string;
  amount: number;
  currency: string;
}

/** One POST /transactions of the storm: who sent it, under which Idempotency-Key, with which body. */
export interface TransferRequest {
  n: number;
  caller: string;
  key: string;
  body: TransferBody;
}

/** What the API answered: 201 with the transaction id, or the error code; `replayed` is the header. */
export interface Answer {
  status: number;
  code?: string;
  id?: string;
  replayed: boolean;
  /**
   * The request was first answered 503 (outcome unknown: it may have been decided, its answer lost) or
   * 408 (not read in time) and this is the answer of its retry, sent with the same key and body after
   * the storm.
   */
  retried?: boolean;
}

/** A row of transactions.postings. */
export interface Posting {
  account_id: string;
  account_version: number;
  entry_id: string;
  amount: number;
  balance_after: number;
}

/** A row of transactions.entries. */
export interface Entry {
  id: string;
  kind: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  currency: string;
}

/** Each refusal a customer transfer can get from the ledger, with its HTTP status. */
export const REFUSALS: Record<string, number> = {
  same_account: 422,
  not_found: 404,
  account_closed: 409,
  account_frozen: 409,
  currency_mismatch: 422,
  insufficient_funds: 422,
};

/**
 * The ledger's rules for a customer transfer, in the order the ledger applies them (the first that
 * fails is the answer): the accounts differ; the payer's account exists and is the caller's; the payee's
 * exists; neither is closed; the payer's is not frozen (money in still lands on a frozen account); both
 * hold the currency; the payer's stays within its overdraft limit with held money set aside
 * (balance - held - amount >= -overdraft_limit).
 */
export function decide(
  accounts: ReadonlyMap<string, ModelAccount>,
  caller: string,
  body: TransferBody,
): 'posted' | keyof typeof REFUSALS {
  const d = accounts.get(body.from_account_id);
  const c = accounts.get(body.to_account_id);
  if (body.from_account_id === body.to_account_id) return 'same_account';
  if (!d || d.owner !== caller || !c) return 'not_found';
  if (d.status === 'closed' || c.status === 'closed') return 'account_closed';
  if (d.status === 'frozen') return 'account_frozen';
  if (d.currency !== body.currency || c.currency !== body.currency) return 'currency_mismatch';
  if (d.balance - d.held - body.amount < -d.overdraftLimit) return 'insufficient_funds';
  return 'posted';
}

export interface StormInput {
  /** The customer accounts involved, as they were before the storm. */
  before: ModelAccount[];
  /** Each account's row version before the storm: its postings above it are the storm's. */
  versionsBefore: ReadonlyMap<string, number>;
  requests: TransferRequest[];
  /** answers[i] answers requests[i]. */
  answers: Answer[];
  /** Every posting of the accounts above its version before the storm. */
  postings: Posting[];
  /** Every entry touching the accounts that the storm made (those not there before it). */
  entries: Entry[];
}

export interface StormReport {
  /** Each violation, naming the request, key, transaction or account. Empty: the storm is explained. */
  problems: string[];
  /** The model's accounts after replaying the posted transfers in `order`. */
  after: Map<string, ModelAccount>;
  /** The posted transaction ids in the order the model replayed them. */
  order: string[];
  /** How many requests were answered each way: '201', '201 replayed', '422 insufficient_funds', ... */
  counts: Record<string, number>;
  /** How many posted transfers left their payer with nothing to spare (the edge of the funds rule). */
  tight: number;
}

interface Decision {
  /** The requests sharing the key and the body the ledger decided. */
  requests: TransferRequest[];
  answer: Answer;
}

const answerLabel = (a: Answer) =>
  `${a.status}${a.status === 201 ? '' : ` ${a.code}`}${a.replayed ? ' replayed' : ''}`;

export function checkStorm(input: StormInput): StormReport {
  const problems: string[] = [];
  const start = new Map(input.before.map((a) => [a.id, a]));
  const label = (id: string) => start.get(id)?.label ?? id;
  const what = (r: TransferRequest) =>
    `request #${r.n} (key ${r.key}, ${label(r.body.from_account_id)} → ${label(r.body.to_account_id)}, ${r.body.amount} ${r.body.currency})`;
  const counts: Record<string, number> = {};
  input.answers.forEach((a) => (counts[answerLabel(a)] = (counts[answerLabel(a)] ?? 0) + 1));

  // 1. One decision per key: the requests of one (caller, key) grouped by body.
  const byKey = new Map<string, number[]>();
  input.requests.forEach((r, i) => {
    const k = `${r.caller} ${r.key}`;
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const decisions: Decision[] = [];
  const reused = (a: Answer) => a.status === 422 && a.code === 'idempotency_key_reused';
  for (const indexes of byKey.values()) {
    const bodies = new Map<string, number[]>();
    for (const i of indexes) {
      const b = JSON.stringify(input.requests[i].body);
      bodies.set(b, [...(bodies.get(b) ?? []), i]);
    }
    const groups = [...bodies.values()];
    const decided = groups.filter((g) => g.some((i) => !reused(input.answers[i])));
    const key = input.requests[indexes[0]].key;
    if (decided.length !== 1) {
      problems.push(
        `key ${key}: ${decided.length} of its ${groups.length} bodies were decided by the ledger ` +
          `(answers: ${indexes.map((i) => `#${input.requests[i].n} ${answerLabel(input.answers[i])}`).join(', ')})`,
      );
      continue;
    }
    const [group] = decided;
    for (const other of groups.filter((g) => g !== group)) {
      for (const i of other) {
        const a = input.answers[i];
        if (!reused(a) || a.replayed) {
          problems.push(
            `${what(input.requests[i])}: another body under a decided key, answered ${answerLabel(a)}, not 422 idempotency_key_reused (unmarked)`,
          );
        }
      }
    }
    const answers = group.map((i) => input.answers[i]);
    const first = answers.filter((a) => !a.replayed);
    // Exactly one request was decided, the rest replay it; none answered unmarked only when the one
    // decided lost its answer (a 503) and its retry replayed.
    const lost = answers.some((a) => a.retried);
    if (!(first.length === 1 || (first.length === 0 && lost))) {
      problems.push(
        `key ${key}: ${first.length} of its ${group.length} identical requests were answered unmarked (want exactly 1, the rest Idempotent-Replayed: true): ` +
          group.map((i) => `#${input.requests[i].n} ${answerLabel(input.answers[i])}`).join(', '),
      );
    }
    const same = (a: Answer) => `${a.status} ${a.code ?? ''} ${a.id ?? ''}`;
    for (const i of group) {
      if (same(input.answers[i]) !== same(answers[0])) {
        problems.push(
          `${what(input.requests[i])}: answered ${same(input.answers[i])}, but #${input.requests[group[0]].n} with the same key and body ${same(answers[0])}`,
        );
      }
    }
    const answer = first[0] ?? answers[0];
    const r = input.requests[group[0]];
    if (answer.status !== 201 && REFUSALS[answer.code ?? ''] !== answer.status) {
      problems.push(
        `${what(r)}: answered ${answerLabel(answer)}, which is no answer the ledger gives a transfer`,
      );
      continue;
    }
    decisions.push({ requests: group.map((i) => input.requests[i]), answer });
  }

  // 2. The storm's entries are exactly the posted decisions' transactions, each with its two postings.
  const entries = new Map(input.entries.map((e) => [e.id, e]));
  const decisionOf = new Map<string, Decision>();
  for (const d of decisions.filter((x) => x.answer.status === 201)) {
    const r = d.requests[0];
    const id = d.answer.id!;
    const e = entries.get(id);
    if (decisionOf.has(id)) {
      problems.push(`${what(r)}: answered 201 with transaction ${id}, as was another key's request`);
      continue;
    }
    if (!e) {
      problems.push(`${what(r)}: answered 201 with transaction ${id}, which the storm did not post`);
      continue;
    }
    decisionOf.set(id, d);
    const wanted = {
      kind: 'transfer',
      debit_account_id: r.body.from_account_id,
      credit_account_id: r.body.to_account_id,
      amount: r.body.amount,
      currency: r.body.currency,
    };
    const got = {
      kind: e.kind,
      debit_account_id: e.debit_account_id,
      credit_account_id: e.credit_account_id,
      amount: e.amount,
      currency: e.currency,
    };
    if (JSON.stringify(got) !== JSON.stringify(wanted)) {
      problems.push(`${what(r)}: its transaction ${id} is ${JSON.stringify(got)}`);
    }
  }
  for (const e of input.entries) {
    if (!decisionOf.has(e.id)) {
      problems.push(
        `transaction ${e.id} (${e.kind}, ${label(e.debit_account_id)} → ${label(e.credit_account_id)}, ${e.amount}) was posted in the storm, and no key's request was answered 201 with it`,
      );
    }
  }
  const postingsOf = new Map<string, Posting[]>();
  for (const p of input.postings) postingsOf.set(p.entry_id, [...(postingsOf.get(p.entry_id) ?? []), p]);
  for (const e of input.entries) {
    const legs = (postingsOf.get(e.id) ?? []).map((p) => `${p.account_id} ${p.amount}`).sort();
    const wanted = [`${e.debit_account_id} ${-e.amount}`, `${e.credit_account_id} ${e.amount}`].sort();
    if (JSON.stringify(legs) !== JSON.stringify(wanted)) {
      problems.push(`transaction ${e.id}: postings ${JSON.stringify(legs)}, not ${JSON.stringify(wanted)}`);
    }
  }
  for (const id of postingsOf.keys()) {
    if (!entries.has(id)) problems.push(`postings of ${id}, which is no entry of the storm`);
  }

  // 3. Each account's postings in version order: balances chained from the state before the storm, and
  //    the order of that account's transactions (an edge from each to the next).
  const after = new Map([...start].map(([id, a]) => [id, { ...a }]));
  const next = new Map<string, Set<string>>();
  const incoming = new Map<string, number>([...decisionOf.keys()].map((id) => [id, 0]));
  const byAccount = new Map<string, Posting[]>();
  for (const p of input.postings) byAccount.set(p.account_id, [...(byAccount.get(p.account_id) ?? []), p]);
  const history = new Map<string, number[]>();
  for (const [account, list] of byAccount) {
    list.sort((a, b) => a.account_version - b.account_version);
    let balance = start.get(account)?.balance ?? NaN;
    const versionBefore = input.versionsBefore.get(account) ?? NaN;
    history.set(account, [balance]);
    list.forEach((p, i) => {
      if (
        !(p.account_version > versionBefore) ||
        (i > 0 && p.account_version === list[i - 1].account_version)
      ) {
        problems.push(`${label(account)}: posting of ${p.entry_id} has version ${p.account_version}`);
      }
      if (p.balance_after !== balance + p.amount) {
        problems.push(
          `${label(account)}: posting of ${p.entry_id} (version ${p.account_version}, ${p.amount}) has balance_after ${p.balance_after}, after ${balance}`,
        );
      }
      balance = p.balance_after;
      history.get(account)!.push(balance);
      const prev = list[i - 1]?.entry_id;
      if (prev && prev !== p.entry_id && incoming.has(prev) && incoming.has(p.entry_id)) {
        const edges = next.get(prev) ?? new Set<string>();
        if (!edges.has(p.entry_id)) {
          edges.add(p.entry_id);
          next.set(prev, edges);
          incoming.set(p.entry_id, incoming.get(p.entry_id)! + 1);
        }
      }
    });
  }

  // 4. One global order: a topological sort of the accounts' orders (Kahn's).
  const order: string[] = [];
  const ready = [...incoming].filter(([, n]) => n === 0).map(([id]) => id);
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const m of next.get(id) ?? []) {
      incoming.set(m, incoming.get(m)! - 1);
      if (incoming.get(m) === 0) ready.push(m);
    }
  }
  if (order.length < incoming.size) {
    const stuck = [...incoming].filter(([, n]) => n > 0).map(([id]) => id);
    problems.push(
      `no sequential order: the accounts' orders of postings form a cycle among ${stuck.length} transactions (${stuck.slice(0, 5).join(', ')}...)`,
    );
  }

  // 5. The replay: each posted transfer allowed where it stands, each refusal given at some point.
  const refusals = decisions.filter((d) => d.answer.status !== 201);
  const placed = new Set<Decision>();
  const place = () => {
    for (const d of refusals) {
      if (!placed.has(d) && decide(after, d.requests[0].caller, d.requests[0].body) === d.answer.code) {
        placed.add(d);
      }
    }
  };
  const state = (id: string) => {
    const a = after.get(id);
    return a ? `${a.label} ${a.status}, balance ${a.balance}, held ${a.held}, limit ${a.overdraftLimit}` : id;
  };
  let tight = 0;
  place();
  order.forEach((id, step) => {
    const d = decisionOf.get(id)!;
    const r = d.requests[0];
    const verdict = decide(after, r.caller, r.body);
    if (verdict !== 'posted') {
      problems.push(
        `${what(r)}: posted as ${id}, step ${step} of the order, where the model refuses it ${verdict} (${state(r.body.from_account_id)})`,
      );
    }
    const payer = after.get(r.body.from_account_id)!;
    payer.balance -= r.body.amount;
    after.get(r.body.to_account_id)!.balance += r.body.amount;
    if (payer.balance - payer.held === -payer.overdraftLimit) tight++;
    place();
  });
  for (const d of refusals.filter((x) => !placed.has(x))) {
    const r = d.requests[0];
    const from = start.get(r.body.from_account_id);
    problems.push(
      `${what(r)}: answered ${answerLabel(d.answer)}, which the model gives at no point of the order ` +
        `(${from ? `${from.label} ${from.status}, held ${from.held}, limit ${from.overdraftLimit}, balances ${JSON.stringify(history.get(from.id) ?? [from.balance])}` : 'unknown payer'})`,
    );
  }
  return { problems, after, order, counts, tight };
}
