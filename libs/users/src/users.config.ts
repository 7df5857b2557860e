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

  static problems(v: ConfigValues<typeof USERS_VARIABLES>, production: boolean): string[] {
    return production && v.KYC_ENCRYPTION_KEY === undefined
      ? ['KYC_ENCRYPTION_KEY (or KYC_ENCRYPTION_KEY_FILE) must be set in production']
      : [];
  }
}

/** Provides UsersConfig to the module's classes. */
export const usersConfigProvider = configProvider(UsersConfig);
