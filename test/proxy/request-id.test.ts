import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/proxy/proxy-request.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('are UUIDv7 strings carrying the millisecond clock', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = timeOrderedId(at);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('are unique and sort in creation order, also many within one millisecond', () => {
    const at = Date.now();
    const ids = Array.from({ length: 100_000 }, (_, i) => timeOrderedId(at + Math.floor(i / 50_000)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      // Within a millisecond the counter orders them, except where it wraps past its 24 bits.
      if (ids[i] < ids[i - 1]) expect(ids[i].slice(0, 13)).not.toBe(ids[i - 1].slice(0, 13));
    }
  });
});
