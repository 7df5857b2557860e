import { hash, verify } from '@node-rs/argon2';
import { AppError, slots } from '@protobank/platform';
import { createHash } from 'node:crypto';

// argon2id (algorithm 2) with OWASP's baseline cost: 19 MiB, 2 passes.
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * Each hash or verification allocates its 19 MiB outside the V8 heap, for its duration. Unbounded, as
 * many ran at once as libuv has threads (4 by default): under a login storm the auth app went from 127 to
 * 207 MB of RSS (bench:memory), and in a 128m container it was OOM-killed at once; two at a time still
 * were (RSS 119 MB at the kill). One at a time peaks at 97 MB there and still answered 95 logins/s from
 * 32 clients (issue 14). The others wait their turn; one that has waited 5 s answers 503 rather than
 * queue on. More login throughput means more auth instances, not more hashes per instance.
 */
export const ARGON2_AT_ONCE = 1;
const ARGON2_MAX_WAIT_MS = 5000;
const argon2 = slots(ARGON2_AT_ONCE, ARGON2_MAX_WAIT_MS, () =>
  new AppError(503, 'auth_busy', 'Too many password checks under way; try again shortly').withHeaders({
    'Retry-After': '1',
  }),
);

/**
 * A password as it is hashed: NFKC, as NIST SP 800-63B asks of verifiers, so that "é" typed as one code
 * point (Windows) or as e and an accent (some Mac and mobile input) is the same password, and so are
 * full-width and ASCII digits. Hashes made before 2026-12-06 afternoon are of the password as typed:
 * checkPassword also tries that, so no one is locked out.
 */
export const normalised = (password: string): string => password.normalize('NFKC');

export const hashPassword = (password: string): Promise<string> =>
  argon2(() => hash(normalised(password), ARGON2));

let dummy: Promise<string> | undefined;

/**
 * Checks a password against a stored hash, or, when there is no such user, against a dummy hash of the
 * same cost: an unknown e-mail costs the same time as a wrong password, so timing does not reveal which
 * e-mails have accounts. The dummy is made once, in the same slot as the first check that needs it. A
 * password NFKC changes is checked in both forms (see normalised), one with no user as well.
 */
export function checkPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  return argon2(async () => {
    if (storedHash === undefined) {
      dummy ??= hash('no such user: equal-time dummy', ARGON2).catch((err: unknown) => {
        dummy = undefined;
        throw err;
      });
    }
    const target = storedHash ?? (await dummy)!;
    const check = (candidate: string) => verify(target, candidate).catch(() => false);
    // The form typed is tried second (a hash from before normalising), for no user alike: the same work.
    const folded = normalised(password);
    const ok = (await check(folded)) || (folded !== password && (await check(password)));
    return ok && storedHash !== undefined;
  });
}

/**
 * Which password something was issued under (a device token, a reset token): a digest of the stored hash
 * (which has its own random salt, so this tells nothing of the password). It stops matching once the
 * password changes.
 */
export const passwordMark = (passwordHash: string): string =>
  createHash('sha256').update(passwordHash).digest('base64url').slice(0, 22);
