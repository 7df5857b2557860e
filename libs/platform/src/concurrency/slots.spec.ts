import { slots } from './slots';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('slots', () => {
  afterEach(() => jest.useRealTimers());

  it('runs at most `count` tasks at once, the others in arrival order as slots free up', async () => {
    const run = slots(2, 1000, () => new Error('too long'));
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const results = [0, 1, 2, 3].map((i) =>
      run(() => {
        started.push(i);
        return new Promise<number>((resolve) => finish.push(() => resolve(i)));
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    finish[1]();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    finish[0]();
    finish[2]();
    await tick();
    finish[3]();
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3]);
  });

  it('rejects a task that waited too long without running it, and frees the slot of a failed task', async () => {
    jest.useFakeTimers();
    const run = slots(1, 100, () => new Error('too long'));
    let done!: () => void;
    const first = run(() => new Promise<void>((resolve) => (done = resolve)));
    const task = jest.fn(async () => 'ran');
    const second = run(task);
    jest.advanceTimersByTime(100);
    await expect(second).rejects.toThrow('too long');
    expect(task).not.toHaveBeenCalled();
    done();
    await first;
    await expect(run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(run(task)).resolves.toBe('ran');
  });

  it('rejects the caller of a task that throws before returning a promise, and frees its slot', async () => {
    const run = slots(1, 1000, () => new Error('too long'));
    const thrown = run((): Promise<string> => {
      throw new Error('bad input');
    });
    const next = run(async () => 'ran');
    await expect(thrown).rejects.toThrow('bad input');
    await expect(next).resolves.toBe('ran');
  });
});
