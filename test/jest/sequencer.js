/**
 * The order Jest hands test files to its workers: the longest first, so that no worker is still running a
 * long suite alone at the end of the run.
 *
 * Jest's own sequencer does this from the durations its cache remembers (`perf-cache-*` in its cache
 * directory), and orders files it has no duration for by size. A fresh clone, which is what CI runs, has
 * no durations: the cache is keyed by the project's path. By size, `monolith.e2e-spec.ts` and
 * `split.e2e-spec.ts`, small files that run the shared scenarios, came near the end, and the monolith
 * suite (250 s) was still running alone for minutes after the other worker had finished. So a file with no
 * remembered duration takes its duration from EXPECTED_SECONDS below, measured in a full `npm test` (a
 * fresh clone of 7a9c7fe on 2026-12-07: the e2e files of 5 s and more). It only sets the order: a figure
 * out of date makes a run slower, never wrong. Files with neither are ordered by size, after the others.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const EXPECTED_SECONDS = {
  'test/split.e2e-spec.ts': 326,
  'test/monolith.e2e-spec.ts': 250,
  'test/observability.e2e-spec.ts': 136,
  'test/faults.e2e-spec.ts': 64,
  'test/operations.e2e-spec.ts': 56,
  'test/backup-restore.e2e-spec.ts': 39,
  'test/contracts/messaging.e2e-spec.ts': 36,
  'test/payments-schedule.e2e-spec.ts': 30,
  'test/broker-outage.e2e-spec.ts': 25,
  'test/traces.e2e-spec.ts': 24,
  'test/contracts/ledger.contract.e2e-spec.ts': 21,
  'test/contracts/staff-gate.e2e-spec.ts': 19,
  'test/secrets.e2e-spec.ts': 18,
  'test/ledger-checkpoints.e2e-spec.ts': 17,
  'libs/notifications/src/compose/messages.spec.ts': 16,
  'test/monitoring.e2e-spec.ts': 15,
  'test/docker.e2e-spec.ts': 13,
  'test/contracts/transport.e2e-spec.ts': 12,
  'test/ledger-batch-attack.e2e-spec.ts': 12,
  'test/payments-sweep-faults.e2e-spec.ts': 9,
  'test/migration-locks.e2e-spec.ts': 9,
  'test/contracts/event-races.e2e-spec.ts': 9,
  'test/migrations.e2e-spec.ts': 8,
  'test/contracts/event-batches.e2e-spec.ts': 7,
  'test/ledger-verification.e2e-spec.ts': 7,
  'test/contracts/auth.contract.e2e-spec.ts': 5,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const size = (test) => test.context.hasteFS.getSize(test.path) ?? 0;
    const expected = (test) => {
      const seconds = EXPECTED_SECONDS[path.relative(test.context.config.rootDir, test.path)];
      return seconds === undefined ? undefined : seconds * 1000;
    };
    for (const test of tests) test.duration = this.time(test) ?? expected(test);
    return tests.sort((a, b) => {
      // As Jest's own: the files that failed last time first, for the quickest news.
      const failed = Number(this.hasFailed(b)) - Number(this.hasFailed(a));
      if (failed !== 0) return failed;
      const known = Number(b.duration !== undefined) - Number(a.duration !== undefined);
      if (known !== 0) return known;
      if (a.duration !== undefined) return b.duration - a.duration;
      return size(b) - size(a);
    });
  }
}

module.exports = LongestFirst;
module.exports.EXPECTED_SECONDS = EXPECTED_SECONDS;
