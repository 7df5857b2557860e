import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAbandoned, tracked } from './abandoned-starts';
import { startupErrors } from './topologies';

/** A start that settles when told to, and a record of how it was stopped. */
function slowStart(logDir: string) {
  const stops: Array<{ keepLogs?: boolean }> = [];
  let succeed!: () => void;
  let fail!: (err: Error) => void;
  const start = tracked(
    new Promise<{ t: { logDir: string }; stop(opts?: { keepLogs?: boolean }): Promise<void> }>(
      (resolve, reject) => {
        succeed = () => resolve({ t: { logDir }, stop: async (opts = {}) => void stops.push(opts) });
        fail = reject;
      },
    ),
  );
  return { start, stops, succeed: () => succeed(), fail: (err: Error) => fail(err) };
}

describe('abandoned topology starts', () => {
  it('stops, with its logs kept, a start that ends after its suite gave up on it', async () => {
    const late = slowStart('/tmp/late-logs');
    const sweep = stopAbandoned();
    late.succeed();
    expect(await sweep).toEqual([
      'started after the suite gave up on it: stopped, logs kept in /tmp/late-logs',
    ]);
    expect(late.stops).toEqual([{ keepLogs: true }]);
  });

  it('leaves alone a start that ended while its suite waited for it', async () => {
    const done = slowStart('/tmp/done-logs');
    done.succeed();
    await done.start;
    expect(await stopAbandoned()).toEqual([]);
    expect(done.stops).toEqual([]);
  });

  it('says why a start the suite gave up on failed (it cleaned up after itself)', async () => {
    const failing = slowStart('/tmp/failed-logs');
    const sweep = stopAbandoned();
    failing.fail(new Error('split did not start (logs kept in /tmp/failed-logs): listen EADDRINUSE'));
    expect(await sweep).toEqual([
      'failed after the suite gave up on it: split did not start (logs kept in /tmp/failed-logs): listen EADDRINUSE',
    ]);
    expect(failing.stops).toEqual([]);
    expect(await stopAbandoned()).toEqual([]);
  });
});

describe('startupErrors', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pb-startup-errors-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("quotes the apps' error and fatal lines and a failed script's own line, the last few, naming each log", () => {
    writeFileSync(
      join(dir, 'cards.log'),
      [
        '{"level":30,"msg":"starting"}',
        '{"level":50,"msg":"listen EADDRINUSE: address already in use 127.0.0.1:20001"}',
        '{"level":60,"msg":"fatal: exiting"}',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'migrate.log'), 'migrate failed: connect ECONNREFUSED 127.0.0.1:5432\nok line\n');
    writeFileSync(join(dir, 'notes.txt'), '{"level":50,"msg":"not a log"}');
    expect(startupErrors(dir).split('\n')).toEqual([
      '',
      'cards.log: {"level":50,"msg":"listen EADDRINUSE: address already in use 127.0.0.1:20001"}',
      'cards.log: {"level":60,"msg":"fatal: exiting"}',
      'migrate.log: migrate failed: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
    expect(startupErrors(dir, 1)).toBe('\nmigrate.log: migrate failed: connect ECONNREFUSED 127.0.0.1:5432');
  });

  it('is empty when no log says anything wrong, or there is no log directory', () => {
    writeFileSync(join(dir, 'monolith.log'), '{"level":30,"msg":"listening"}\n{"level":40,"msg":"slow"}\n');
    expect(startupErrors(dir)).toBe('');
    expect(startupErrors(join(dir, 'gone'))).toBe('');
  });
});
