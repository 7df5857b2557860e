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
