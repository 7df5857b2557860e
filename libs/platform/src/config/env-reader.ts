import { readFileSync } from 'node:fs';

/**
 * Reads one variable from the environment. A secret may instead be given as NAME_FILE, the path of a
 * file holding it (Docker secrets under /run/secrets); setting both is ambiguous and rejected.
 */
export function readVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  const filePath = env[`${name}_FILE`];
  if (filePath !== undefined && filePath !== '') {
    if (direct !== undefined && direct !== '') {
      throw new Error(`${name} and ${name}_FILE are both set: keep one`);
    }
    try {
      return readFileSync(filePath, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`${name}_FILE points at ${filePath}, which cannot be read (${(err as Error).message})`);
    }
  }
  return direct === '' ? undefined : direct;
}
