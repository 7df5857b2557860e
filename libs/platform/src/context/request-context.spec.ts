import { acceptRequestId, requestContext } from './request-context';

describe('request context', () => {
  it('accepts only short request ids of safe characters', () => {
    expect(acceptRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(acceptRequestId('x'.repeat(129))).toBeUndefined();
    expect(acceptRequestId('has space')).toBeUndefined();
    expect(acceptRequestId('line\nbreak')).toBeUndefined();
    expect(acceptRequestId(['a', 'b'])).toBeUndefined();
  });

  it('follows async work started inside it', async () => {
    const seen = await requestContext.run({ requestId: 'r-1' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      requestContext.setCaller({ user_id: 'u', role: 'customer' });
      return requestContext.current();
    });
    expect(seen).toEqual({ requestId: 'r-1', caller: { user_id: 'u', role: 'customer' } });
    expect(requestContext.current()).toBeUndefined();
  });
});
