import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root (for unit specs that read the source tree). */
export const ROOT = join(__dirname, '../..');

/** Every TypeScript source file under `dir`, specs excluded. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}
