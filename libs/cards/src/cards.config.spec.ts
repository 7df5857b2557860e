import { ConfigSource } from '@protobank/platform';
import { CardsConfig } from './cards.config';

const load = (env: NodeJS.ProcessEnv) => new ConfigSource(env).load(CardsConfig);

const problemsOf = (env: NodeJS.ProcessEnv) => new ConfigSource(env).problems([CardsConfig]);

describe('CardsConfig', () => {
  const key = Buffer.alloc(32, 7);
  const secret = 'a-card-network-secret-of-32-chars-x';

  it('defaults the BIN, hold expiry and reveal limit, and leaves the keys to CardKeys', () => {
    const config = load({});
    expect([config.cardBin, config.cardHoldExpiryDays, config.cardRevealRateLimitPerHour]).toEqual([
      '535522',
      7,
      5,
    ]);
    expect(config.cardDataKey).toBeUndefined();
    expect(config.cardNetworkSecrets).toEqual([]);
  });

  it('takes a 32-byte data key in hex or base64, and several network secrets for rotation', () => {
    for (const form of [key.toString('hex'), key.toString('base64')]) {
      expect(load({ CARD_DATA_KEY: form }).cardDataKey).toBe(form);
    }
    const rotated = load({ CARD_NETWORK_SECRET: `${secret}1, ${secret}2` });
    expect(rotated.cardNetworkSecrets).toEqual([`${secret}1`, `${secret}2`]);
  });

  it('refuses a malformed BIN, key or secret, without repeating a secret', () => {
    const problems = problemsOf({
      CARD_BIN: '12345',
      CARD_DATA_KEY: key.subarray(0, 16).toString('base64'),
      CARD_NETWORK_SECRET: `${secret},short`,
      CARD_HOLD_EXPIRY_DAYS: '0',
      CARD_REVEAL_RATE_LIMIT_PER_HOUR: 'many',
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'CARD_BIN',
      'CARD_DATA_KEY',
      'CARD_NETWORK_SECRET',
      'CARD_HOLD_EXPIRY_DAYS',
      'CARD_REVEAL_RATE_LIMIT_PER_HOUR',
    ]);
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems.join('\n')).not.toContain(key.subarray(0, 16).toString('base64'));
  });

  describe('in production', () => {
    const production = { NODE_ENV: 'production' };

    it('wants a data key and a network secret of its own, naming each missing one', () => {
      expect(problemsOf(production)).toEqual([
        'CARD_DATA_KEY (or CARD_DATA_KEY_FILE) must be set in production',
        'CARD_NETWORK_SECRET (or CARD_NETWORK_SECRET_FILE) must be set in production',
      ]);
      expect(
        problemsOf({ ...production, CARD_DATA_KEY: key.toString('hex'), CARD_NETWORK_SECRET: secret }),
      ).toEqual([]);
    });

    it("refuses the cards module's development network secret, once (not also as missing)", () => {
      const development = 'dev-only-card-network-secret-protects-nothing';
      expect(
        problemsOf({ ...production, CARD_DATA_KEY: key.toString('hex'), CARD_NETWORK_SECRET: development }),
      ).toEqual([
        expect.stringMatching(/^CARD_NETWORK_SECRET holds a development value, which production refuses: /),
      ]);
    });
  });
});
