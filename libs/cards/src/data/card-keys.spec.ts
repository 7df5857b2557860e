import { ConfigSource } from '@protobank/platform';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CardsConfig } from '../cards.config';
import { CardKeys, DEVELOPMENT_NETWORK_SECRET, devDataKey } from './card-keys';
import { scratchDirs } from '../../../../test/support/scratch-dirs';

const scratch = scratchDirs();

describe('CardKeys', () => {
  const key = randomBytes(32).toString('base64');
  const secret = 'a-card-network-secret-of-32-chars-x';

  it('gives the same hash and CVC for the same key, and takes every configured network secret', () => {
    const cards = (env: NodeJS.ProcessEnv) => new ConfigSource(env).load(CardsConfig);
    const a = new CardKeys(cards({ CARD_DATA_KEY: key, CARD_NETWORK_SECRET: `${secret}1,${secret}2` }));
    const b = new CardKeys(cards({ CARD_DATA_KEY: key }));
    expect(a.hash('5355220000000004').equals(b.hash('5355220000000004'))).toBe(true);
    expect(a.cvc('5355220000000004', 1, 2029)).toBe(b.cvc('5355220000000004', 1, 2029));
    expect(a.networkSecrets).toEqual([`${secret}1`, `${secret}2`]);
    expect(b.networkSecrets).toEqual([DEVELOPMENT_NETWORK_SECRET]);
  });

  it('makes one development data key per checkout, private to its owner, and keeps it', () => {
    const root = scratch('cards-devkey-');
    const first = devDataKey(root);
    expect(first).toHaveLength(32);
    expect(devDataKey(root).equals(first)).toBe(true);
    const file = join(root, '.data', 'cards', 'data-key');
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(Buffer.from(readFileSync(file, 'utf8'), 'base64').equals(first)).toBe(true);
  });
});
