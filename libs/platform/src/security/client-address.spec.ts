import { rateLimitAddress } from './client-address';

describe('rateLimitAddress', () => {
  it('counts an IPv6 client by its /64, however its address is written', () => {
    const keys = [
      '2001:db8:77:1::1',
      '2001:db8:77:1:ffff:ffff:ffff:ffff',
      '2001:0DB8:0077:0001:0000:0000:dead:beef',
      '2001:db8:77:1:a:b:c:d%eth0',
    ].map((ip) => rateLimitAddress(ip, 64));
    expect(new Set(keys)).toEqual(new Set(['2001:db8:77:1::/64']));
    expect(rateLimitAddress('2001:db8:77:2::1', 64)).toBe('2001:db8:77:2::/64');
  });

  it('takes the prefix length given (RATE_LIMIT_IPV6_PREFIX)', () => {
    expect(rateLimitAddress('2001:db8:77:1::1', 56)).toBe('2001:db8:77::/56');
    expect(rateLimitAddress('2001:db8:77:ff::1', 56)).toBe('2001:db8:77::/56');
    expect(rateLimitAddress('2001:db8::1', 128)).toBe('2001:db8::1/128');
  });

  it('counts IPv4 as it is, also when written IPv4-mapped', () => {
    expect(rateLimitAddress('10.9.8.8', 64)).toBe('10.9.8.8');
    expect(rateLimitAddress('::ffff:10.9.8.8', 64)).toBe('10.9.8.8');
    expect(rateLimitAddress('::FFFF:0a09:0808', 64)).toBe('10.9.8.8');
  });

  it('counts what it cannot read as written, and a missing address as unknown', () => {
    expect(rateLimitAddress('not-an-ip', 64)).toBe('not-an-ip');
    expect(rateLimitAddress(undefined, 64)).toBe('unknown');
  });
});
