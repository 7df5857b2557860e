interface Processes {
  freePort(): Promise<number>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort } = require('./processes.js') as Processes;

describe('freePort (scripts/lib/processes.js)', () => {
  it('never hands out one port twice, even to calls made at once before anything binds', async () => {
    // 1,000 of 12,000 at random: without the reservation two calls share a port with near certainty.
    const ports = await Promise.all(Array.from({ length: 1000 }, () => freePort()));
    expect(new Set(ports).size).toBe(1000);
    expect(ports.every((p) => p >= 20000 && p < 32000)).toBe(true);
  });
});
