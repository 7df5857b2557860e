/** How long a phone code may be used, and how many wrong tries void it (codes: @protobank/platform). */
export const PHONE_CODE_SECONDS = 600;
export const PHONE_CODE_ATTEMPTS = 5;
/** Codes a user may ask for: one a minute, five a day; and five a day to any one number. */
export const PHONE_CODE_RESEND_SECONDS = 60;
export const PHONE_CODES_PER_DAY = 5;
/** Codes asked for from one client address in an hour (each is a paid text). */
export const PHONE_CODES_PER_IP_HOUR = 60;

/** The text of the SMS: the code, how long it lasts, and that the bank never asks for it. */
export const codeMessage = (code: string) =>
  `Your Protobank code is ${code}. It confirms this number for your account and expires in ${PHONE_CODE_SECONDS / 60} minutes. We will never ask you for it.`;
