/**
 * RedisScript against a real Redis: the app's Lua scripts (balance cache, rate limits, sessions,
 * analytics copies) go as EVALSHA once a connection has sent the text, keep the client's key prefix, and
 * still run after Redis has forgotten them (SCRIPT FLUSH, as after a restart without persistence). On a
 * Redis of this suite's own: a SCRIPT FLUSH on the shared one would reach every suite running beside it.
 */
import { RedisScript } from '@protobank/platform';
import Redis from 'ioredis';
import type { ChildProcess } from 'node:child_process';
import { startRedis } from '../support/private-redis';
import { processes, type AppProcess } from '../support/processes';
import { eventually } from '../support/test-env';

describe('RedisScript on Redis', () => {
  let server: ChildProcess;
  let redis: Redis;
  let app: Redis;
  const prefix = 'pbtest:rscript:';
  const SET_AND_COUNT = new RedisScript(
    `redis.call('SET', KEYS[1], ARGV[1])\nreturn redis.call('INCR', KEYS[2])`,
  );

  beforeAll(async () => {
    const port = await processes.freePort();
    server = startRedis(port);
    redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined); // refused until the server listens: the probe below retries
    await eventually(
      () =>
        redis.ping().then(
          () => true,
          () => undefined,
        ),
      10000,
      'its own redis-server',
    );
    app = redis.duplicate({ keyPrefix: prefix }); // as the app's client: prefixed
  });
  afterAll(async () => {
    app?.disconnect();
    redis?.disconnect();
    await processes.stop(server as unknown as AppProcess, 3000);
  });

  /** The last command Redis saw from the app's connection (CLIENT LIST, asked on another connection). */
  const lastCommand = async (id: number) =>
    /\bcmd=(\S+)/.exec((await redis.client('LIST', 'ID', String(id))) as string)?.[1];

  it('sends the text on first use, then only the SHA1, with the keys prefixed', async () => {
    const id = (await app.client('ID')) as number;
    expect(await SET_AND_COUNT.run(app, ['a', 'n'], ['first'])).toBe(1);
    expect(await lastCommand(id)).toBe('eval');
    expect(await redis.script('EXISTS', SET_AND_COUNT.sha)).toEqual([1]);
    expect(await SET_AND_COUNT.run(app, ['a', 'n'], ['second'])).toBe(2);
    expect(await lastCommand(id)).toBe('evalsha');
    expect(await redis.get(`${prefix}a`)).toBe('second');
    expect(await redis.get(`${prefix}n`)).toBe('2');
  });

  it('runs again after Redis forgot every script (SCRIPT FLUSH)', async () => {
    await SET_AND_COUNT.run(app, ['a', 'n'], ['before']);
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', SET_AND_COUNT.sha)).toEqual([0]);
    expect(await SET_AND_COUNT.run(app, ['a', 'n'], ['after'])).toBe(4);
    expect(await redis.get(`${prefix}a`)).toBe('after');
    expect(await redis.script('EXISTS', SET_AND_COUNT.sha)).toEqual([1]);
  });

  it('runs in an auto-pipeline beside other commands (enableAutoPipelining, as the app sets it)', async () => {
    const piped = redis.duplicate({ keyPrefix: prefix, enableAutoPipelining: true });
    try {
      const COUNT = new RedisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);
      // Commands issued in one tick go out as one pipeline: a plain command opens it, the script's
      // first use joins it, and so does every later one. (A first use is answered NOSCRIPT and sent
      // again as EVAL, after what followed it in the tick: hence another key for the plain commands.)
      const first = await Promise.all([piped.set('q', 'a'), COUNT.run(piped, ['p'], [2]), piped.get('q')]);
      expect(first).toEqual(['OK', 2, 'a']);
      const again = await Promise.all([
        piped.get('q'),
        ...[1, 2, 3].map((n) => COUNT.run(piped, ['p'], [n])),
        piped.get('q'),
      ]);
      expect(again).toEqual(['a', 3, 5, 8, 'a']);
      expect(await redis.get(`${prefix}p`)).toBe('8');
    } finally {
      piped.disconnect();
    }
  });

  it('takes the number of keys from each call (a script may take a key per entry)', async () => {
    const SET_ALL = new RedisScript(
      `for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i]) end\nreturn #KEYS`,
    );
    expect(await SET_ALL.run(app, ['x'], ['1'])).toBe(1);
    expect(await SET_ALL.run(app, ['x', 'y', 'z'], ['7', '8', '9'])).toBe(3);
    expect(await redis.mget(`${prefix}x`, `${prefix}y`, `${prefix}z`)).toEqual(['7', '8', '9']);
  });
});
