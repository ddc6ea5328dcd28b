import { describe, expect, it } from 'vitest';
import { ipGroup } from './client-ip.ts';

describe('ipGroup (SPEC §9: IPv6 grouped by /64 for every per-IP limit)', () => {
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
