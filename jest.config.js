/**
 * Three projects: `unit` (specs next to the code, no services), `e2e` (test/, real Postgres, Redis and
 * RabbitMQ; each suite creates its own database, queues and key prefix and removes them afterwards) and
 * `containers` (test/containers/: the images and compose files in Docker; run only when selected).
 */
const path = require('node:path');
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    // Nest 12 is ESM-only: see test/jest/nest-esm.babel.cjs for why this transform exists.
    '^.+\\.m?js$': ['babel-jest', { configFile: path.join(__dirname, 'test/jest/nest-esm.babel.cjs') }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
};

module.exports = {
  // The longest files first, also in a fresh clone with no durations in Jest's cache (see the file).
  testSequencer: '<rootDir>/test/jest/sequencer.js',
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{apps,libs,scripts}/**/*.spec.ts',
        '<rootDir>/test/support/**/*.spec.ts',
        '<rootDir>/test/jest/**/*.spec.ts',
      ],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/jest/e2e.setup.ts'],
      globalTeardown: '<rootDir>/test/jest/e2e.teardown.ts',
      slowTestThreshold: 30,
    },
    // Not part of `npm test`: builds images and runs the compose stacks in Docker (npm run test:containers).
    {
      ...shared,
      displayName: 'containers',
      testMatch: ['<rootDir>/test/containers/**/*.containers-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/jest/containers.setup.ts'],
      slowTestThreshold: 120,
    },
  ],
};
