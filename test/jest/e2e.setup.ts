import { renewActors } from '../support/actors';

// Jest 30 reads testTimeout only from the root config, not from a project: set the e2e budget here.
// Suites start real processes (up to nine of them) in beforeAll.
jest.setTimeout(120_000);

// Actors minted in a suite's beforeAll must not expire before a slow run reaches the test using them.
beforeEach(() => renewActors());
