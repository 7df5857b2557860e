import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

type ScriptCommand = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script run through ioredis's defineCommand: the script's text goes to Redis once per connection
 * (EVAL), then only its SHA1 (EVALSHA). When Redis has forgotten it (a restart, SCRIPT FLUSH), ioredis
 * sees NOSCRIPT and sends the text again. Keys get the client's key prefix, as with EVAL.
 *
 * Declared once at module level (`const HIT = new RedisScript(lua)`) and run on any client, so a test can
 * hand in its own. The command's name comes from the script's SHA1: two scripts never share a name.
 */
export class RedisScript {
  readonly sha: string;
  private readonly name: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    this.name = `script_${this.sha}`;
  }

  /** Runs the script with `keys` (prefixed) then `args`: the KEYS and ARGV it sees. */
  run(client: Redis, keys: string[], args: (string | number)[] = []): Promise<unknown> {
    const commands = client as unknown as Record<string, ScriptCommand | undefined>;
    // No numberOfKeys given to defineCommand: each call passes its own count first (some scripts take a
    // key per entry).
    if (!commands[this.name]) client.defineCommand(this.name, { lua: this.lua });
    return commands[this.name]!.call(client, keys.length, ...keys, ...args);
  }
}
