#!/usr/bin/env node
/**
 * `npm run migration:generate -- <Name>`: builds, lets TypeORM diff the entities against the database
 * named by DATABASE_URL (migrate it first), writes migrations/<timestamp>-<Name>.ts and adds the class to
 * migrations/index.ts. Review the generated SQL and write its `down` with care before committing.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const name = process.argv[2];
if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
  process.stderr.write('usage: npm run migration:generate -- <PascalCaseName>\n');
  process.exit(1);
}
const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'migrations');
const before = new Set(fs.readdirSync(dir));
execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
try {
  execFileSync(
    process.execPath,
    [
      require.resolve('typeorm/cli.js'),
      'migration:generate',
      '-d',
      'dist/migrations/data-source.js',
      '--pretty',
      `migrations/${name}`,
    ],
    { cwd: root, stdio: 'inherit' },
  );
} catch (err) {
  process.exit(err.status ?? 1); // TypeORM has said why (e.g. no changes)
}
const created = fs.readdirSync(dir).find((f) => !before.has(f) && f.endsWith(`-${name}.ts`));
if (!created) process.exit(0);
const source = fs.readFileSync(path.join(dir, created), 'utf8');
const className = /export class (\w+)/.exec(source)[1];
const indexPath = path.join(dir, 'index.ts');
let index = fs.readFileSync(indexPath, 'utf8');
const lastImport = index.lastIndexOf('\nimport ');
const lineEnd = index.indexOf('\n', lastImport + 1);
index = `${index.slice(0, lineEnd + 1)}import { ${className} } from './${created.replace(/\.ts$/, '')}';\n${index.slice(lineEnd + 1)}`;
index = index.replace(
  /export const MIGRATIONS = \[([^\]]*)\];/,
  (_m, list) => `export const MIGRATIONS = [${list.trim()}, ${className}];`,
);
fs.writeFileSync(indexPath, index);
process.stdout.write(`wrote migrations/${created} and registered ${className} in migrations/index.ts\n`);
