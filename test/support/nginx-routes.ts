/**
 * Reads the nginx.conf that scripts/gen-nginx.js writes, with enough of nginx's syntax (quoted strings,
 * comments, nested blocks) to say where each location proxies and how nginx would pick a location for a
 * path. Regex locations are refused rather than half-supported: the generator never writes them.
 */
export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

export interface NginxLocation {
  modifier: '' | '=' | '^~';
  path: string;
  /** The upstream named by proxy_pass http://<upstream>; undefined when nginx answers itself. */
  upstream?: string;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === '#') i = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
    else if (c === '{' || c === '}' || c === ';') tokens.push(text[i++]);
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new Error(`unterminated string at offset ${i}`);
      tokens.push(text.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};]/.test(text[j])) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

/** The directive tree of an nginx configuration. */
export function parseNginx(text: string): NginxDirective[] {
  const tokens = tokenize(text);
  let pos = 0;
  const parseBlock = (nested: boolean): NginxDirective[] => {
    const out: NginxDirective[] = [];
    while (pos < tokens.length) {
      if (tokens[pos] === '}') {
        if (!nested) throw new Error('unbalanced }');
        pos++;
        return out;
      }
      const words: string[] = [];
      while (pos < tokens.length && !['{', ';', '}'].includes(tokens[pos])) words.push(tokens[pos++]);
      const end = tokens[pos++];
      if (end === '{') out.push({ name: words[0], args: words.slice(1), block: parseBlock(true) });
      else if (end === ';') out.push({ name: words[0], args: words.slice(1) });
      else throw new Error(`directive "${words.join(' ')}" is not terminated`);
    }
    if (nested) throw new Error('unbalanced {');
    return out;
  };
  return parseBlock(false);
}

function walk(directives: NginxDirective[], visit: (d: NginxDirective) => void): void {
  for (const d of directives) {
    visit(d);
    if (d.block) walk(d.block, visit);
  }
}

const isModifier = (m: string): m is NginxLocation['modifier'] => m === '' || m === '=' || m === '^~';

/** Every location except named ones (@x), with the upstream it proxies to. */
export function nginxLocations(text: string): NginxLocation[] {
  const out: NginxLocation[] = [];
  walk(parseNginx(text), (d) => {
    // Named and internal locations (error pages, the edge's subrequests) are not reachable by a client.
    if (d.name !== 'location' || d.args[0].startsWith('@')) return;
    if (d.block?.some((inner) => inner.name === 'internal')) return;
    const [modifier, path] = d.args.length === 2 ? d.args : ['', d.args[0]];
    if (!isModifier(modifier)) throw new Error(`unsupported location ${d.args.join(' ')}`);
    const target = d.block?.find((inner) => inner.name === 'proxy_pass')?.args[0];
    const upstream = target ? /^https?:\/\/([^/:]+)/.exec(target)?.[1] : undefined;
    out.push({ modifier, path, upstream });
  });
  return out;
}

/** upstream name -> its `server` addresses. */
export function nginxUpstreams(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  walk(parseNginx(text), (d) => {
    if (d.name !== 'upstream') return;
    out[d.args[0]] = (d.block ?? []).filter((s) => s.name === 'server').map((s) => s.args[0]);
  });
  return out;
}

/** Each proxied location as a path prefix (`= /a` and `^~ /a/` both give /a) and the upstream serving it. */
export function parseNginxRoutes(text: string): { prefix: string; service: string }[] {
  const routes = new Map<string, { prefix: string; service: string }>();
  for (const { path, upstream } of nginxLocations(text)) {
    if (!upstream) continue;
    const prefix = path.length > 1 ? path.replace(/\/$/, '') : path;
    routes.set(`${prefix} ${upstream}`, { prefix, service: upstream });
  }
  return [...routes.values()];
}

/** The location nginx picks for `path` (exact match first, else the longest matching prefix). */
export function matchNginxLocation(locations: NginxLocation[], path: string): NginxLocation | undefined {
  const exact = locations.find((l) => l.modifier === '=' && l.path === path);
  if (exact) return exact;
  let best: NginxLocation | undefined;
  for (const l of locations) {
    const longer = !best || l.path.length > best.path.length;
    if (l.modifier !== '=' && path.startsWith(l.path) && longer) best = l;
  }
  return best;
}
