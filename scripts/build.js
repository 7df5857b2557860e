#!/usr/bin/env node
/**
 * Builds every app and lib in one TypeScript pass (incremental), then rewrites the @protobank/* path
 * aliases to relative requires so `node dist/apps/<app>/src/main.js` runs with no loader.
 * One pass compiles the whole workspace (apps, libs, migrations) instead of `nest build` app by app, and the output
 * is the same CommonJS.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

try {
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
} catch {
  process.exit(1);
}
