import { ConfigSource } from '@protobank/platform';
import { NotificationsConfig } from './notifications.config';

const problemsOf = (env: NodeJS.ProcessEnv) => new ConfigSource(env).problems([NotificationsConfig]);

describe('NotificationsConfig in production', () => {
  const explicit = { NODE_ENV: 'production' };

  it('wants webhooks over https (or to a loopback sidecar) and signed with a secret of 32+ characters', () => {
    const secret = 'a-webhook-signing-secret-of-32-chars';
    expect(
      problemsOf({
        ...explicit,
        SMS_WEBHOOK_URL: 'http://sms.provider.example/send?token=abc',
        PUSH_WEBHOOK_URL: 'https://push.provider.example/send',
      }),
    ).toEqual([
      "SMS_WEBHOOK_URL must use https: in production (it carries customers' phone numbers and messages)",
      'WEBHOOK_SIGNING_SECRET must be set in production while SMS_WEBHOOK_URL or PUSH_WEBHOOK_URL is',
    ]);
    expect(
      problemsOf({
        ...explicit,
        PUSH_WEBHOOK_URL: 'https://push.example/p',
        WEBHOOK_SIGNING_SECRET: 'short',
      }),
    ).toEqual(['WEBHOOK_SIGNING_SECRET must be at least 32 characters in production']);
    for (const url of [
      'https://sms.example/send',
      'http://127.0.0.1:8080/sms',
      'http://localhost/sms',
      'http://[::1]/sms',
    ]) {
      expect(problemsOf({ ...explicit, SMS_WEBHOOK_URL: url, WEBHOOK_SIGNING_SECRET: secret })).toEqual([]);
    }
    expect(problemsOf({ SMS_WEBHOOK_URL: 'http://sms.provider.example/send' })).toEqual([]);
  });

  it('names a webhook that is not a URL once, as any other bad value (no TypeError from the https rule)', () => {
    const problems = problemsOf({
      ...explicit,
      PUSH_WEBHOOK_URL: 'push.example/p',
      WEBHOOK_SIGNING_SECRET: 'a-webhook-signing-secret-of-32-chars',
    });
    expect(problems).toEqual([expect.stringMatching(/^PUSH_WEBHOOK_URL /)]);
  });
});
