// Jest 30 reads testTimeout only from the root config, not from a project: set the containers budget
// here. Tests wait for containers to start and become healthy (compose healthchecks run every 10 s).
jest.setTimeout(180_000);
