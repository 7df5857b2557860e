import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKeysDir } from '../libs/platform/src/security/key-files';
import { keySchedule } from '../libs/platform/src/security/key-schedule';
import { scratchDirs } from '../test/support/scratch-dirs';

const scratch = scratchDirs();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { rotate } = require('./keys-rotate.js') as {
  rotate(opts: { dir: string; ttlSeconds?: number; refreshSeconds?: number; now?: Date }): {
    kid: string;
    kept: { kid: string; verifyUntil: number | null }[];
    removed: { kid: string }[];
  };
};

const policy = { accessTokenTtlSeconds: 900, refreshSeconds: 30 };

describe('npm run keys:rotate', () => {
  it('adds a key the apps read as the newest, keeps the older one verifying, lists both public keys', () => {
    const dir = scratch('pb-rotate-');
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const first = rotate({ dir, now: t0 });
    const t1 = new Date(t0.getTime() + 3_600_000);
    const second = rotate({ dir, now: t1 });
    const keys = readKeysDir(dir);
    expect(keys.map((k) => k.jwk.kid)).toEqual([first.kid, second.kid]);
    const schedule = keySchedule(keys, t1.getTime(), policy);
    expect(schedule.signing.jwk.kid).toBe(second.kid);
    // The script and the apps agree on the retired key's window.
    expect(second.kept.map((k) => k.verifyUntil)).toEqual(schedule.verifying.map((v) => v.verifyUntil));
    const bundle = readFileSync(join(dir, 'public-keys.pem'), 'utf8');
    expect(bundle.match(/BEGIN PUBLIC KEY/g)).toHaveLength(2);
  });

  it('deletes the keys whose window has ended, and only those', () => {
    const dir = scratch('pb-rotate-');
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const a = rotate({ dir, now: t0 });
    const b = rotate({ dir, now: new Date(t0.getTime() + 1000) });
    const beforeEnd = new Date(t0.getTime() + 1000 + (30 + 900 + 60 - 1) * 1000);
    const c = rotate({ dir, now: beforeEnd });
    expect(c.removed).toEqual([]);
    const d = rotate({ dir, now: new Date(t0.getTime() + 1000 + (30 + 900 + 60) * 1000) });
    expect(d.removed.map((k) => k.kid)).toEqual([a.kid]);
    expect(readKeysDir(dir).map((k) => k.jwk.kid)).toEqual([b.kid, c.kid, d.kid]);
  });
});
