import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, sourceFiles } from '../../../../test/support/source-files';

/**
 * The OpenAPI document names a DTO's schema after its class: two classes of one name (a request body and
 * a response of one module, or one DTO per module) overwrite each other there, so one of them is
 * documented wrongly, and @nestjs/swagger warns "Duplicate DTO detected" (an error in its next major).
 * Every class of the apps and libs (exported or not: a controller's own DTO is documented too) has a name
 * of its own.
 */
describe('class names in the OpenAPI document', () => {
  const declared = (text: string) =>
    [...text.matchAll(/^(?:export )?(?:abstract )?class (\w+)/gm)].map((m) => m[1]);

  it('finds the classes a file declares at top level', () => {
    const text = 'export class A {}\nexport abstract class B {}\n  export class C\nclass D {}\n// class E';
    expect(declared(text)).toEqual(['A', 'B', 'D']);
  });

  it('gives every class of apps/ and libs/ a name no other file uses', () => {
    const where = new Map<string, string[]>();
    for (const file of ['apps', 'libs'].flatMap((d) => sourceFiles(join(ROOT, d)))) {
      for (const name of declared(readFileSync(file, 'utf8')))
        where.set(name, [...(where.get(name) ?? []), relative(ROOT, file)]);
    }
    expect(where.size).toBeGreaterThan(100);
    expect([...where].filter(([, files]) => files.length > 1)).toEqual([]);
  });
});
