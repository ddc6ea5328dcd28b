import { describe, expect, it } from 'vitest';
import { SALE_KEY_ORDER, saleKeyList, saleKeys } from './keys.ts';
import preludeLua from './lua/prelude.lua';

describe('the one key order of the Lua steps', () => {
  it('lists every key of a sale once, all under its hash tag', () => {
    const k = saleKeys('ns', 'shoes');
    expect([...SALE_KEY_ORDER].sort()).toEqual(Object.keys(k).sort());
    expect(saleKeyList(k).every((key) => key.startsWith('ns:{sale:shoes}:'))).toBe(true);
  });

  it('is the order in which the prelude names KEYS[1..8]', () => {
    const named: [number, string][] = [];
    for (const m of preludeLua.matchAll(/^local (K_\w+(?:, K_\w+)*) = (KEYS\[\d+\](?:, KEYS\[\d+\])*)$/gm)) {
      const names = (m[1] ?? '').split(', ');
      const slots = (m[2] ?? '').split(', ').map((s) => Number(/\d+/.exec(s)?.[0]));
      names.forEach((name, i) => {
        const camel = name
          .slice(2)
          .toLowerCase()
          .replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
        named.push([slots[i] ?? 0, camel]);
      });
    }
    expect(named.sort((a, b) => a[0] - b[0])).toEqual(SALE_KEY_ORDER.map((name, i) => [i + 1, name]));
  });
});
