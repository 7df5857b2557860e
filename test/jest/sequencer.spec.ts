import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const LongestFirst = require('./sequencer') as SequencerClass;

interface FakeTest {
  path: string;
  duration?: number;
}
type SequencerClass = (new (options: unknown) => {
  sort(tests: FakeTest[]): FakeTest[];
  cacheResults(tests: FakeTest[], results: { testResults: unknown[] }): void;
}) & {
  EXPECTED_SECONDS: Record<string, number>;
};

const ROOT = join(__dirname, '../..');

/** Test files as Jest hands them to a sequencer, all in one context with a cache directory of its own. */
function testsOf(files: Array<[string, number]>) {
  const cacheDirectory = mkdtempSync(join(tmpdir(), 'pb-sequencer-'));
  const config = { rootDir: ROOT, cacheDirectory, id: 'unit', cache: true, haste: {}, name: 'unit' };
  const sizes = new Map(files.map(([f, size]) => [join(ROOT, f), size]));
  const context = { config, hasteFS: { getSize: (p: string) => sizes.get(p) } };
  return {
    tests: files.map(([f]) => ({ path: join(ROOT, f), context }) as FakeTest),
    cleanup: () => rmSync(cacheDirectory, { recursive: true, force: true }),
  };
}

/** What Jest records after a run (its perf cache): each file's duration, and whether it failed. */
function remember(tests: FakeTest[], results: Record<string, { failed: boolean; ms: number }>) {
  const testResults = Object.entries(results).map(([f, { failed, ms }]) => ({
    testFilePath: join(ROOT, f),
    numFailingTests: failed ? 1 : 0,
    perfStats: { runtime: ms },
    skipped: false,
  }));
  new LongestFirst({}).cacheResults(tests, { testResults });
}

const order = (tests: FakeTest[]) =>
  new LongestFirst({}).sort(tests).map((t) => t.path.slice(ROOT.length + 1));

describe('the test sequencer', () => {
  it('runs the longest files first in a fresh clone, where Jest remembers no durations', () => {
    const { tests, cleanup } = testsOf([
      ['libs/platform/src/http/cursor.spec.ts', 9_000],
      ['test/contracts/auth.contract.e2e-spec.ts', 20_000],
      ['test/monolith.e2e-spec.ts', 500],
      ['test/new.e2e-spec.ts', 30_000],
      ['test/split.e2e-spec.ts', 400],
      ['test/observability.e2e-spec.ts', 10_000],
    ]);
    try {
      expect(order(tests)).toEqual([
        'test/split.e2e-spec.ts',
        'test/monolith.e2e-spec.ts',
        'test/observability.e2e-spec.ts',
        'test/contracts/auth.contract.e2e-spec.ts',
        // no duration at all: by size, after the others
        'test/new.e2e-spec.ts',
        'libs/platform/src/http/cursor.spec.ts',
      ]);
    } finally {
      cleanup();
    }
  });

  it('prefers the durations Jest remembers, and runs the files that failed last time first', () => {
    const { tests, cleanup } = testsOf([
      ['test/split.e2e-spec.ts', 400],
      ['test/monolith.e2e-spec.ts', 500],
      ['test/faults.e2e-spec.ts', 600],
      ['test/new.e2e-spec.ts', 30_000],
    ]);
    remember(tests, {
      'test/monolith.e2e-spec.ts': { failed: false, ms: 400_000 },
      'test/faults.e2e-spec.ts': { failed: true, ms: 5_000 },
      'test/new.e2e-spec.ts': { failed: false, ms: 1_000 },
    });
    try {
      expect(order(tests)).toEqual([
        'test/faults.e2e-spec.ts',
        'test/monolith.e2e-spec.ts',
        'test/split.e2e-spec.ts',
        'test/new.e2e-spec.ts',
      ]);
    } finally {
      cleanup();
    }
  });

  it('names only test files that exist', () => {
    const missing = Object.keys(LongestFirst.EXPECTED_SECONDS).filter((f) => !existsSync(join(ROOT, f)));
    expect(missing).toEqual([]);
  });
});
