import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';
import { isCommonPassword } from './common-passwords';

describe('common passwords', () => {
  it('knows the 12+ character entries of the list, in any case, and nothing shorter', () => {
    expect(isCommonPassword('123qweasdzxc')).toBe(true);
    expect(isCommonPassword('1QAZ2WSX3EDC')).toBe(true);
    expect(isCommonPassword('password')).toBe(false); // on the list, but left to the length rule
    expect(isCommonPassword('correct horse battery staple')).toBe(false);
  });

  // The split apps run with --max-old-space-size=64 --max-semi-space-size=2 (docker-compose.split.yml),
  // and the auth app holds about 40 MB of heap once booted (bench:memory); splitting the list into a
  // million strings on top of that aborted it ("JavaScript heap out of memory", issue 14). The module is
  // transpiled here and run as plain JS under exactly those flags, next to 40 MB of ballast for the app.
  it('loads within the split apps heap limit, next to what the app holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'common-passwords-'));
    try {
      const source = readFileSync(join(__dirname, 'common-passwords.ts'), 'utf8');
      const { outputText } = transpileModule(source, {
        compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022 },
      });
      const file = join(dir, 'common-passwords.js');
      writeFileSync(file, outputText);
      const check =
        'const app = Array.from({ length: 40 }, () => new Array(131072).fill(0.5));' + // 40 x 1 MiB
        `const { isCommonPassword } = require(${JSON.stringify(file)});` +
        `if (!isCommonPassword('QWERTYUIOPASDFGHJKL') || isCommonPassword('correct horse battery staple'))` +
        ` process.exit(2);` +
        'if (app.length !== 40) process.exit(3);';
      const child = spawnSync(
        process.execPath,
        ['--max-old-space-size=64', '--max-semi-space-size=2', '-e', check],
        // NODE_PATH: the module resolves the list's package from the temporary directory
        { env: { PATH: process.env.PATH, NODE_PATH: resolve(__dirname, '../../../../node_modules') } },
      );
      expect({
        status: child.status,
        signal: child.signal,
        stderr: child.stderr.toString().slice(-500),
      }).toEqual({
        status: 0,
        signal: null,
        stderr: '',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
