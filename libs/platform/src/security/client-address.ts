import ipaddr from 'ipaddr.js';

/**
 * What a per-IP rate limit counts a client by: an IPv4 address as it is (also when written IPv4-mapped,
 * `::ffff:a.b.c.d`, as a dual-stack listener or proxy reports it), an IPv6 address by its network of
 * `ipv6PrefixBits` (RATE_LIMIT_IPV6_PREFIX, 64 by default): one customer of an ISP or a cloud has a /64 at
 * least, 2^64 addresses to take a fresh one from for every request. ipaddr.js parses (every written form,
 * zones included); anything it cannot read is counted as written.
 */
export function rateLimitAddress(ip: string | undefined, ipv6PrefixBits: number): string {
  if (!ip) return 'unknown';
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip); // IPv4-mapped IPv6 becomes the IPv4 address
  if (address.kind() === 'ipv4') return address.toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toNormalizedString()}/${ipv6PrefixBits}`);
  return `${network.toString()}/${ipv6PrefixBits}`;
}
