/**
 * At most `slots` tasks at once; the others wait their turn in arrival order, and one that has waited
 * `maxWaitMs` without a slot is rejected with `tooLong()` instead of run.
 */
export function slots(
  count: number,
  maxWaitMs: number,
  tooLong: () => Error,
): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: { start: () => void; timer: NodeJS.Timeout }[] = [];

  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.start();
    }
  };

  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        running++;
        // Promise.resolve().then: a task that throws at once rejects its caller, and the slot is released.
        Promise.resolve().then(task).then(resolve, reject).finally(release);
      };
      if (running < count) return start();
      const entry = {
        start,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(tooLong());
        }, maxWaitMs),
      };
      waiting.push(entry);
    });
}
