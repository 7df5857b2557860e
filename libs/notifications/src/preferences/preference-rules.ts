/**
 * What a user may switch on and off, and what they start with. `payments` are the customer's standing
 * orders and scheduled payments, paid or not (the entry a payment posts is not also a `transactions`
 * notice to its payer).
 */
export const CATEGORIES = ['transactions', 'payments', 'security', 'account', 'marketing'] as const;
export const CHANNELS = ['in_app', 'email', 'sms', 'push'] as const;
export type Category = (typeof CATEGORIES)[number];
export type Channel = (typeof CHANNELS)[number];
export type Preferences = Record<Category, Record<Channel, boolean>>;

/**
 * Security notices (a new sign-in, a changed password) always reach the app and the mailbox: a user who
 * could turn them off could miss the one message that tells them their account was taken over.
 */
export const LOCKED_ON: Readonly<Partial<Record<Category, readonly Channel[]>>> = {
  security: ['in_app', 'email'],
};

/**
 * Defaults: the app and e-mail for what concerns the customer's money and account, SMS and push off until
 * asked for (they cost, and need a phone or a device), marketing off everywhere (consent is opt-in).
 */
export const DEFAULT_PREFERENCES: Preferences = {
  transactions: { in_app: true, email: true, sms: false, push: false },
  payments: { in_app: true, email: true, sms: false, push: false },
  security: { in_app: true, email: true, sms: false, push: false },
  account: { in_app: true, email: true, sms: false, push: false },
  marketing: { in_app: false, email: false, sms: false, push: false },
};

export function isLocked(category: Category, channel: Channel): boolean {
  return LOCKED_ON[category]?.includes(channel) ?? false;
}

/**
 * The defaults overlaid with what the user chose; locked channels are on whatever is stored. A row of a
 * category this code does not know is left out: a newer instance, mid-deploy, may have stored it.
 */
export function effectivePreferences(
  stored: { category: Category; channel: Channel; enabled: boolean }[],
): Preferences {
  const prefs = structuredClone(DEFAULT_PREFERENCES);
  for (const row of stored) {
    if (CATEGORIES.includes(row.category) && CHANNELS.includes(row.channel))
      prefs[row.category][row.channel] = row.enabled;
  }
  for (const category of CATEGORIES) {
    for (const channel of LOCKED_ON[category] ?? []) prefs[category][channel] = true;
  }
  return prefs;
}

/** The channels one notification of `category` goes out on. */
export function enabledChannels(prefs: Preferences, category: Category): Channel[] {
  return CHANNELS.filter((c) => prefs[category][c]);
}
