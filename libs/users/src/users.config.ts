import { type ConfigSchema, type ConfigValues, configProvider } from '@protobank/platform';

/** The variables the users module reads, with their defaults and meaning (README's configuration table). */
export const USERS_VARIABLES = {
  KYC_ENCRYPTION_KEY: {
    kind: 'string',
    secret: true,
    doc: 'AES-256-GCM key (32 bytes, base64) for KYC document numbers, and (through HKDF) the key of their lookup hashes; needed by the users app. It cannot be rotated yet: stored numbers are encrypted under it. Development: a fixed development key when unset; production refuses to start without it.',
  },
} as const satisfies ConfigSchema;

/** The users module's configuration. Read once when an app hosting the module boots (configProvider). */
export class UsersConfig {
  static readonly variables = USERS_VARIABLES;

  /** Undefined: the development key (DocumentCipher), which production refuses (problems). */
  readonly kycEncryptionKey: string | undefined;

  constructor(v: ConfigValues<typeof USERS_VARIABLES>) {
    this.kycEncryptionKey = v.KYC_ENCRYPTION_KEY;
  }

  /** A key of 32 bytes (base64), and in production one of its own (the development key protects nothing). */
  static problems(v: ConfigValues<typeof USERS_VARIABLES>, production: boolean): string[] {
    const key = v.KYC_ENCRYPTION_KEY;
    if (key === undefined)
      return production ? ['KYC_ENCRYPTION_KEY (or KYC_ENCRYPTION_KEY_FILE) must be set in production'] : [];
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, 'base64').length : 0;
    return bytes === 32 ? [] : ['KYC_ENCRYPTION_KEY must be 32 bytes, base64-encoded'];
  }
}

/** Provides UsersConfig to the module's classes. */
export const usersConfigProvider = configProvider(UsersConfig);
