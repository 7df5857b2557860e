import { DEFAULT_PREFERENCES, effectivePreferences, enabledChannels, isLocked } from './preference-rules';

describe('notification preferences', () => {
  it('starts from the defaults: marketing off everywhere, sms and push off', () => {
    const prefs = effectivePreferences([]);
    expect(prefs).toEqual(DEFAULT_PREFERENCES);
    expect(enabledChannels(prefs, 'marketing')).toEqual([]);
    expect(enabledChannels(prefs, 'transactions')).toEqual(['in_app', 'email']);
  });

  it('overlays what the user stored', () => {
    const prefs = effectivePreferences([
      { category: 'transactions', channel: 'sms', enabled: true },
      { category: 'transactions', channel: 'email', enabled: false },
    ]);
    expect(enabledChannels(prefs, 'transactions')).toEqual(['in_app', 'sms']);
  });

  it('starts payment notices in the app and by e-mail, and lets the user change them', () => {
    expect(enabledChannels(effectivePreferences([]), 'payments')).toEqual(['in_app', 'email']);
    const prefs = effectivePreferences([{ category: 'payments', channel: 'push', enabled: true }]);
    expect(enabledChannels(prefs, 'payments')).toEqual(['in_app', 'email', 'push']);
    expect(enabledChannels(prefs, 'transactions')).toEqual(['in_app', 'email']);
  });

  it('leaves out a row of a category or channel it does not know (stored by a newer instance)', () => {
    const rows = [
      { category: 'holidays', channel: 'email', enabled: true },
      { category: 'transactions', channel: 'fax', enabled: true },
    ] as unknown as Parameters<typeof effectivePreferences>[0];
    expect(effectivePreferences(rows)).toEqual(DEFAULT_PREFERENCES);
  });

  it('keeps security notices on in the app and by e-mail even if a row says otherwise', () => {
    const prefs = effectivePreferences([
      { category: 'security', channel: 'email', enabled: false },
      { category: 'security', channel: 'in_app', enabled: false },
    ]);
    expect(enabledChannels(prefs, 'security')).toEqual(['in_app', 'email']);
    expect(isLocked('security', 'email')).toBe(true);
    expect(isLocked('security', 'sms')).toBe(false);
    expect(isLocked('transactions', 'email')).toBe(false);
  });
});
