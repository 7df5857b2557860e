import ipaddr from 'ipaddr.js';

/**
 * What a per-IP rate limit counts a client by:
 * - an IPv4 address as it is, also when written IPv4-mapped (`::ffff:a.b.c.d`), as a dual-stack listener
 *   or proxy reports it;
 * - an IPv6 address that carries one IPv4 client as that client: NAT64's well-known prefix
 *   (`64:ff9b::a.b.c.d`; behind a translator every IPv4 client would otherwise share one /64), a 6to4
 *   site (`2002:aabb:ccdd::/48`, one IPv4 host's 2^16 networks) and Teredo (the client's address,
 *   obfuscated in the last 32 bits);
 * - any other IPv6 address by its network of `ipv6PrefixBits` (RATE_LIMIT_IPV6_PREFIX, 64 by default):
 *   one customer of an ISP or a cloud has a /64 at least, 2^64 addresses to take a fresh one from for
 *   every request.
 * ipaddr.js parses (every written form, zones included). What it cannot read (only a trusted proxy's
 * header could bring one) is one client, `invalid`, not one bucket per string.
 */
export function rateLimitAddress(ip: string | undefined, ipv6PrefixBits: number): string {
  if (!ip) return 'unknown';
  if (!ipaddr.isValid(ip)) return 'invalid';
  const address = ipaddr.process(ip); // IPv4-mapped IPv6 becomes the IPv4 address
  if (address.kind() === 'ipv4') return address.toString();
  const v6 = address as ipaddr.IPv6;
  const carried = carriedIPv4(v6);
  if (carried) return carried;
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${v6.toNormalizedString()}/${ipv6PrefixBits}`);
  return `${network.toString()}/${ipv6PrefixBits}`;
}

/** The IPv4 client an IPv6 address stands for, when it is one of the transition forms above. */
function carriedIPv4(address: ipaddr.IPv6): string | undefined {
  const p = address.parts;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  switch (address.range()) {
    case 'rfc6052': // only the well-known /96: a local-use prefix places the address elsewhere
      return p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((g) => g === 0)
        ? v4(p[6], p[7])
        : undefined;
    case '6to4':
      return v4(p[1], p[2]);
    case 'teredo':
      return v4(p[6] ^ 0xffff, p[7] ^ 0xffff);
    default:
      return undefined;
  }
}
