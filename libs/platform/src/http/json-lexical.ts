/**
 * What JSON.parse cannot tell about a body once it has parsed it, read from the text itself:
 *
 * - a number written with a fraction or an exponent (`0.99999999999999999`, `1e2`, `100.0`): no route
 *   takes anything but whole numbers (money is integer minor units), and JSON.parse rounds such a number
 *   to the nearest double before validation sees it, so `0.99999999999999999` arrived as 1 and posted
 *   a penny the client never wrote;
 * - a key given twice in one object: JSON.parse keeps the last, a proxy or a log reader in front of us
 *   may read the first, and the two would disagree about what was asked (`"amount":1,"amount":2`).
 *
 * One linear pass over text that JSON.parse has already accepted (so its grammar need not be checked
 * again); bodies are capped by BODY_LIMIT and JSON_BODY_LIMITS before this runs.
 */
export interface LexicalProblem {
  kind: 'fraction' | 'duplicate_key';
  /** Where: object keys and array indexes from the top. */
  path: string[];
}

type Frame = { keys: Set<string>; key?: string } | { index: number };

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\uFEFF']);
const NUMBER_CHARS = /[-+0-9.eE]/;

export function inspectLexical(text: string): LexicalProblem | undefined {
  const stack: Frame[] = [];
  /** Whether the next string in the innermost object is a key. */
  let expectKey = false;
  const path = () =>
    stack.flatMap((f) => ('keys' in f ? (f.key === undefined ? [] : [f.key]) : [String(f.index)]));
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (WHITESPACE.has(c)) continue;
    if (c === '{') {
      stack.push({ keys: new Set() });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ index: 0 });
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top && 'index' in top) top.index++;
      else expectKey = true;
    } else if (c === ':') {
      expectKey = false;
    } else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (expectKey && top && 'keys' in top) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) {
          top.key = key;
          return { kind: 'duplicate_key', path: path() };
        }
        top.keys.add(key);
        top.key = key;
      }
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let end = i;
      while (end < text.length && NUMBER_CHARS.test(text[end])) end++;
      const token = text.slice(i, end);
      if (/[.eE]/.test(token)) return { kind: 'fraction', path: path() };
      i = end - 1;
    }
    // true, false, null: letters, passed over one at a time.
  }
  return undefined;
}
