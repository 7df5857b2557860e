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

  it('counts an IPv6 address that carries one IPv4 client as that client: NAT64, 6to4, Teredo', () => {
    expect(rateLimitAddress('64:ff9b::1.2.3.4', 64)).toBe('1.2.3.4');
    expect(rateLimitAddress('64:ff9b::102:305', 64)).toBe('1.2.3.5');
    expect(rateLimitAddress('2002:0102:0304::1', 64)).toBe('1.2.3.4');
    expect(rateLimitAddress('2002:102:304:ffff::1', 64)).toBe('1.2.3.4');
    expect(rateLimitAddress('2001:0:4136:e378:8000:63bf:3fff:fdd2', 64)).toBe('192.0.2.45');
    // A local-use NAT64 prefix places the IPv4 address elsewhere: counted as any IPv6 network.
    expect(rateLimitAddress('64:ff9b:1::1', 64)).toBe('64:ff9b:1::/64');
  });

  it('counts whatever it cannot read as one client, and a missing address as unknown', () => {
    expect(rateLimitAddress('not-an-ip', 64)).toBe('invalid');
    expect(rateLimitAddress('x'.repeat(3000), 64)).toBe('invalid');
    expect(rateLimitAddress(undefined, 64)).toBe('unknown');
  });
});
