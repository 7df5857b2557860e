interface Processes {
  freePort(): Promise<number>;
  portRange(worker: number): [number, number];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort, portRange } = require('./processes.js') as Processes;

describe('freePort (scripts/lib/processes.js)', () => {
  it('never hands out one port twice, even to calls made at once before anything binds', async () => {
    // 1,000 of this Jest worker's 3,000 at random: without the reservation two calls share a port with
    // near certainty.
    const [low, high] = portRange(Number(process.env.JEST_WORKER_ID));
    const ports = await Promise.all(Array.from({ length: 1000 }, () => freePort()));
    expect(new Set(ports).size).toBe(1000);
    expect(ports.every((p) => p >= low && p < high)).toBe(true);
  });

  it("gives each Jest worker its own quarter of 20000-32000, and the whole range outside Jest's workers", () => {
    expect([1, 2, 3, 4].map(portRange)).toEqual([
      [20000, 23000],
      [23000, 26000],
      [26000, 29000],
      [29000, 32000],
    ]);
    expect(portRange(NaN)).toEqual([20000, 32000]);
    expect(portRange(5)).toEqual([20000, 32000]);
  });
});
