import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** How long a code may be used, and how many wrong tries void it. */
export const PHONE_CODE_SECONDS = 600;
export const PHONE_CODE_ATTEMPTS = 5;
/** Codes a user may ask for: one a minute, five a day; and five a day to any one number. */
export const PHONE_CODE_RESEND_SECONDS = 60;
export const PHONE_CODES_PER_DAY = 5;
/** Codes asked for from one client address in an hour (each is a paid text). */
export const PHONE_CODES_PER_IP_HOUR = 60;

/** A code as it is kept: never the code itself, only a salted hash of it bound to the user and number. */
export interface StoredCode {
  phone: string;
  salt: string;
  hash: string;
}

const digest = (salt: string, userId: string, phone: string, code: string) =>
  createHash('sha256').update(`${salt}\0${userId}\0${phone}\0${code}`).digest('hex');

/** Six random digits (leading zeros kept) and how to keep them. */
export function newCode(userId: string, phone: string): { code: string; stored: StoredCode } {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const salt = randomBytes(16).toString('hex');
  return { code, stored: { phone, salt, hash: digest(salt, userId, phone, code) } };
}

/** Whether `code` is the one kept for this user and number, compared in constant time. */
export function codeMatches(stored: StoredCode, userId: string, phone: string, code: string): boolean {
  if (stored.phone !== phone) return false;
  const given = Buffer.from(digest(stored.salt, userId, phone, code), 'hex');
  const kept = Buffer.from(stored.hash, 'hex');
  return given.length === kept.length && timingSafeEqual(given, kept);
}

/** The text of the SMS: the code, how long it lasts, and that the bank never asks for it. */
export const codeMessage = (code: string) =>
  `Your Protobank code is ${code}. It confirms this number for your account and expires in ${PHONE_CODE_SECONDS / 60} minutes. We will never ask you for it.`;
