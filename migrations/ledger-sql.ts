import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The ledger's write path lives in `libs/transactions/sql/<function>_vNN.sql`, one file per version of
 * each function (the convention of Rails' fx and scenic gems): a migration applies the versions it names,
 * and its down applies the ones before, so a migration means the same thing whenever it runs, and a rule
 * change is a new file whose diff against the previous version is the change. scripts/build.js copies the
 * files next to dist/migrations, so this path works from the sources (ts-jest), from dist/ and in the
 * container.
 */
export function ledgerSql(file: string): string {
  return readFileSync(join(__dirname, '..', 'libs', 'transactions', 'sql', file), 'utf8');
}
