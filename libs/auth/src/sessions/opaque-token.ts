import { createHash, randomBytes } from 'node:crypto';

/**
 * The tokens auth hands out for a record it keeps (a refresh session, a known device):
 * `<record id>.<secret>`, the id a UUID and the secret 32 random bytes in base64url (43 characters).
 * Only the secret's digest is stored, so a copy of Redis holds no usable token.
 */
export const OPAQUE_TOKEN_PATTERN = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

/** A fresh secret for a token. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** The record id and secret of a well-formed token; undefined for anything else. */
export function parseOpaqueToken(token: string): { id: string; secret: string } | undefined {
  const match = OPAQUE_TOKEN_PATTERN.exec(token);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** What is stored of a secret, and compared with what a client presents: its SHA-256, in hex. */
export const secretDigest = (secret: string): string => createHash('sha256').update(secret).digest('hex');
