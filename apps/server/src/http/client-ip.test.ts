import { describe, expect, it } from 'vitest';
import { clientIpOf, ipGroup, parseTrustProxy } from './client-ip.ts';

describe('ipGroup (README.md#security: IPv6 grouped by /64 for every per-IP limit)', () => {
  it('keeps IPv4 addresses, also IPv4-mapped ones', () => {
    expect(ipGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(ipGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipGroup('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('puts every address of one /64 in one group, whatever its spelling', () => {
    const a = ipGroup('2001:db8:aa:bb:1:2:3:4');
    expect(a).toBe('2001:db8:aa:bb::/64');
    expect(ipGroup('2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff')).toBe(a);
    expect(ipGroup('2001:DB8:AA:BB::1')).toBe(a);
    expect(ipGroup('2001:db8:aa:bb::')).toBe(a);
    expect(ipGroup('2001:db8:aa:bb::1.2.3.4')).toBe(a);
  });

  it('tells neighbouring /64s apart and handles compressed prefixes', () => {
    expect(ipGroup('2001:db8:aa:bc::1')).not.toBe(ipGroup('2001:db8:aa:bb::1'));
    expect(ipGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipGroup('::1')).toBe('0:0:0:0::/64');
    expect(ipGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('TRUST_PROXY (README.md#security, issue 10 M3)', () => {
  const req = (peer: string, xff?: string) =>
    ({
      socket: { remoteAddress: peer },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as never;

  it('false: the socket peer, whatever X-Forwarded-For says', () => {
    const ip = clientIpOf(parseTrustProxy('false'));
    expect(ip(req('198.51.100.1', '1.2.3.4'))).toBe('198.51.100.1');
    expect(ip(req('::ffff:198.51.100.1'))).toBe('198.51.100.1');
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
  });

  it('true (= 1): the rightmost entry, the one our proxy appended; spoofed entries to its left do not count', () => {
    expect(parseTrustProxy('true')).toEqual({ hops: 1 });
    const ip = clientIpOf(parseTrustProxy('true'));
    expect(ip(req('10.0.0.2', '6.6.6.6, 203.0.113.5'))).toBe('203.0.113.5');
    expect(ip(req('10.0.0.2'))).toBe('10.0.0.2');
    expect(clientIpOf(true)(req('10.0.0.2', '203.0.113.5'))).toBe('203.0.113.5');
  });

  it('a hop count n: the n-th entry from the right (a CDN in front of a load balancer is 2)', () => {
    const ip = clientIpOf(parseTrustProxy('2'));
    // client → CDN (appends client) → LB (appends CDN edge) → us
    expect(ip(req('10.0.0.2', '6.6.6.6, 203.0.113.5, 198.51.100.77'))).toBe('203.0.113.5');
    expect(ip(req('10.0.0.2', '203.0.113.5'))).toBe('203.0.113.5'); // fewer entries: the furthest
    expect(ip(req('10.0.0.2', 'not-an-ip, 198.51.100.77'))).toBe('10.0.0.2'); // garbage never a key
  });

  it('CIDRs: honoured only from a trusted peer; the client is the first untrusted entry from the right', () => {
    const ip = clientIpOf(parseTrustProxy('10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.1'));
    expect(ip(req('10.1.2.3', '6.6.6.6, 203.0.113.5, 10.9.9.9'))).toBe('203.0.113.5');
    expect(ip(req('192.0.2.1', '203.0.113.5'))).toBe('203.0.113.5');
    expect(ip(req('2001:db8:ffff::1', '2001:db8:1::7'))).toBe('2001:db8:1::7');
    // Straight to the port, not through the proxy: the header is ignored.
    expect(ip(req('198.51.100.9', '10.0.0.1, 1.2.3.4'))).toBe('198.51.100.9');
    // Every entry trusted: the furthest.
    expect(ip(req('10.1.2.3', '10.2.2.2, 10.3.3.3'))).toBe('10.2.2.2');
  });

  it('refuses what is none of these', () => {
    for (const bad of ['maybe', '10.0.0.0/33', '300.1.1.1/8', 'yes', '10.0.0.0/8,,garbage'])
      expect(() => parseTrustProxy(bad), bad).toThrow();
  });
});
