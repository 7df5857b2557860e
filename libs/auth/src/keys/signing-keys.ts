import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { VerificationKeys } from '@protobank/contracts';
import {
  AppConfig,
  KeyRing,
  keySchedule,
  LOGGER,
  readKeysDir,
  signingKeySource,
  type SigningKey,
} from '@protobank/platform';
import type { Logger } from 'pino';

/**
 * The signing keys, in the app hosting auth only. With JWT_KEYS_DIR (or in development .data/jwt/keys)
 * they are re-read every JWT_KEYS_REFRESH_SECONDS and whenever another app asks for them, so
 * `npm run keys:rotate` takes effect without a restart: the newest key signs, older ones verify until
 * every token they signed has expired (key-schedule.ts). Every instance of auth reading the same directory
 * agrees, since the schedule depends only on the files and the clock.
 */
@Injectable()
export class SigningKeys implements OnModuleInit {
  private keys: SigningKey[] = [];
  private dir: string | undefined;
  /** Files already reported as unreadable, so a refresh storm does not repeat the error. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly ring: KeyRing,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The app hosting auth must be able to sign: without a key it does not start (and fail every login). */
  onModuleInit(): void {
    const source = signingKeySource(this.config);
    if (!source) {
      throw new Error('the app hosting auth signs access tokens: set JWT_KEYS_DIR (or JWT_PRIVATE_KEY_FILE)');
    }
    if ('key' in source) {
      this.keys = [source.key];
    } else {
      this.dir = source.dir;
      this.keys = readKeysDir(source.dir);
      if (this.keys.length === 0) {
        throw new Error(`JWT_KEYS_DIR (${source.dir}) holds no key: run npm run keys:rotate`);
      }
    }
    this.ring.apply(this.verificationKeys());
    this.ring.useSource(() => Promise.resolve(this.reload()));
  }

  /**
   * Re-reads the directory. A file that does not read is left out (and reported once); a directory that
   * does not read, or holds no usable key, keeps the keys known so far.
   */
  reload(): VerificationKeys {
    if (this.dir) {
      try {
        const keys = readKeysDir(this.dir, (file, err) => {
          if (this.reported.has(file)) return;
          this.reported.add(file);
          this.logger.error(
            { err: err.message, file },
            'JWT_KEYS_DIR holds a file that is not a key; left out',
          );
        });
        if (keys.length === 0) throw new Error('no key left');
        this.keys = keys;
      } catch (err) {
        this.logger.error(
          { err: (err as Error).message, dir: this.dir },
          'JWT_KEYS_DIR unreadable; keys unchanged',
        );
      }
    }
    const set = this.verificationKeys();
    this.ring.apply(set);
    return set;
  }

  private schedule() {
    return keySchedule(this.keys, Date.now(), {
      accessTokenTtlSeconds: this.config.accessTokenTtlSeconds,
      refreshSeconds: this.config.jwtKeysRefreshSeconds,
    });
  }

  /** The key new access tokens are signed with. */
  signer(): { privateKey: SigningKey['privateKey']; kid: string } {
    const { signing } = this.schedule();
    return { privateKey: signing.privateKey, kid: signing.jwk.kid };
  }

  verificationKeys(): VerificationKeys {
    return {
      keys: this.schedule().verifying.map(({ key, verifyUntil }) => ({
        ...key.jwk,
        verify_until: verifyUntil,
      })),
    };
  }
}
