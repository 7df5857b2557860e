import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script sent by its SHA1 (EVALSHA) instead of its whole text with every call. When Redis does not
 * hold it (the first call after a start, a restart, SCRIPT FLUSH) the answer is NOSCRIPT and the text goes
 * once (EVAL, which also makes Redis keep it). Keys get the client's key prefix, as with EVAL.
 *
 * Not ioredis's defineCommand: a command defined on a client while one of its auto-pipelines is open (the
 * app's client pipelines automatically) is missing from that pipeline, which then rejects it and crashes
 * the process ("results[i] is not iterable", redis/ioredis#1931; test/contracts/redis-script.e2e-spec.ts
 * runs a first use in that situation). EVALSHA and EVAL are ordinary commands, so they join auto-pipelines
 * like any other.
 *
 * Declared once at module level (`const HIT = new RedisScript(lua)`) and run on any client. Await each
 * run: on the NOSCRIPT path the text goes only after that answer, so commands issued after the script in
 * the same tick may run before it, and a call may take up to two command timeouts.
 */
export class RedisScript {
  readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script with `keys` (prefixed) then `args`: the KEYS and ARGV it sees. */
  async run(client: Redis, keys: string[], args: (string | number)[] = []): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
