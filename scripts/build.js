#!/usr/bin/env node
/**
 * Builds every app and lib in one TypeScript pass (incremental), then rewrites the @protobank/* path
 * aliases to relative requires so `node dist/apps/<app>/src/main.js` runs with no loader.
 * One pass compiles the whole workspace (apps, libs, migrations) instead of `nest build` app by app, and the output
 * is the same CommonJS. The ledger's .sql files are copied next to it.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

try {
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // The ledger's SQL (applied by migrations, see migrations/ledger-sql.ts) sits where the sources have it.
  const sql = path.join('libs', 'transactions', 'sql');
  fs.cpSync(path.join(root, sql), path.join(root, 'dist', sql), { recursive: true });
} catch {
  process.exit(1);
}
