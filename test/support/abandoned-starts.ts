/**
 * Starts still under way when their suite ends. Jest gives up on a beforeAll at its timeout and runs the
 * suite's afterAll hooks while the start goes on, with nothing yet to stop: the apps it then started
 * outlived the suite, holding ports, connections and a database. The e2e setup's last afterAll waits for
 * each start left and stops what it started, its logs kept: a start that slow is a failure worth reading.
 */
interface Stoppable {
  t: { logDir: string };
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
}

const pending = new Set<Promise<Stoppable>>();

/** `start`, remembered until it settles. */
export function tracked<T extends Stoppable>(start: Promise<T>): Promise<T> {
  pending.add(start);
  const settled = () => void pending.delete(start);
  start.then(settled, settled);
  return start;
}

/**
 * Waits for every start still under way and stops each that succeeded (one that failed stopped itself);
 * says what became of each, since the suite's failure says only that its hook timed out.
 */
export async function stopAbandoned(): Promise<string[]> {
  return Promise.all(
    [...pending].map((start) =>
      start.then(
        async (running) => {
          await running.stop({ keepLogs: true });
          return `started after the suite gave up on it: stopped, logs kept in ${running.t.logDir}`;
        },
        (err: Error) => `failed after the suite gave up on it: ${err.message}`,
      ),
    ),
  );
}
