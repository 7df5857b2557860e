import { stopAbandoned } from '../support/abandoned-starts';
import { renewActors } from '../support/actors';

// Jest 30 reads testTimeout only from the root config, not from a project: set the e2e budget here.
// Suites start real processes (up to nine of them) in beforeAll.
jest.setTimeout(120_000);

// Actors minted in a suite's beforeAll must not expire before a slow run reaches the test using them.
beforeEach(() => renewActors());

// A topology still starting when the suite ends (its beforeAll timed out) is stopped once it has started
// instead of outliving the suite. At the root, this runs after the afterAll hooks inside the suite's
// describe blocks; a suite's stop() after it does nothing more (stop() acts once). It waits up to 300 s,
// longer than any start takes (the slowest suites allow theirs 240 s).
afterAll(async () => {
  for (const fate of await stopAbandoned()) process.stderr.write(`A topology ${fate}\n`);
}, 300_000);
