interface Processes {
  freePort(): Promise<number>;
  portRange(worker: number, span?: string): [number, number];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort, portRange } = require('./processes.js') as Processes;

describe('freePort (scripts/lib/processes.js)', () => {
  it('never hands out one port twice, even to calls made at once before anything binds', async () => {
    // A third of this Jest worker's range (1,000 of 3,000 by default) at random: without the reservation
    // two calls share a port with near certainty.
    const [low, high] = portRange(Number(process.env.JEST_WORKER_ID), process.env.TEST_PORTS);
    const n = Math.floor((high - low) / 3);
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    expect(new Set(ports).size).toBe(n);
    expect(ports.every((p) => p >= low && p < high)).toBe(true);
  });

  it("gives each Jest worker its own quarter of 20000-32000, and the whole range outside Jest's workers", () => {
    expect([1, 2, 3, 4].map((w) => portRange(w))).toEqual([
      [20000, 23000],
      [23000, 26000],
      [26000, 29000],
      [29000, 32000],
    ]);
    expect(portRange(NaN)).toEqual([20000, 32000]);
    expect(portRange(5)).toEqual([20000, 32000]);
  });

  it('splits the range TEST_PORTS gives a run among its workers, and refuses one it cannot use', () => {
    expect([1, 2, 3, 4].map((w) => portRange(w, '10000-14000'))).toEqual([
      [10000, 11000],
      [11000, 12000],
      [12000, 13000],
      [13000, 14000],
    ]);
    expect(portRange(NaN, '10000-14000')).toEqual([10000, 14000]);
    expect(portRange(1, '')).toEqual([20000, 23000]);
    for (const span of ['10000', '14000-10000', '10000-10100', '30000-40000', '80-2000', 'a-b'])
      expect(() => portRange(1, span)).toThrow(/TEST_PORTS/);
  });
});
