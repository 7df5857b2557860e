import { hash, verify } from '@node-rs/argon2';

// argon2id (algorithm 2) with OWASP's baseline cost: 19 MiB, 2 passes.
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);

let dummy: Promise<string> | undefined;

/**
 * Checks a password against a stored hash, or, when there is no such user, against a dummy hash of the
 * same cost: an unknown e-mail costs the same time as a wrong password, so timing does not reveal which
 * e-mails have accounts.
 */
export async function checkPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  dummy ??= hashPassword('no such user: equal-time dummy');
  const target = storedHash ?? (await dummy);
  const ok = await verify(target, password).catch(() => false);
  return ok && storedHash !== undefined;
}
