// The key pool's gate on its own: a held-back key is skipped (it stays
// USABLE), every strategy routes around it in a few probes, and pickReason
// says when the first held-back key has room.
import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/state/key-pool.ts';
import type { KeyGate } from '../../src/state/key-gate.ts';
import type { ApiKeyState, KeyStrategy } from '../../src/state/types.ts';

function makeKey(id: string): ApiKeyState {
  return { id, upstreamId: 'u', name: id, secret: `sk-${id}`, fingerprint: id, status: 'ACTIVE', disabledUntil: null, statusReason: null, weight: 1, quotaLimit: null, used: 0, leaseLeft: null, quotaResetAt: null, modelCooldowns: new Map(), disableCount: 0 };
}

function gate(heldUntil: Map<string, number>): KeyGate & { refused: number } {
  return {
    refused: 0,
    get gatesKeys() {
      return heldUntil.size > 0;
    },
    keyRoomAt: (key) => heldUntil.get(key.id) ?? 0,
    everyKeyLimited() {
      this.refused++;
    },
  };
}

describe.each<KeyStrategy>(['ROUND_ROBIN', 'RANDOM', 'WEIGHTED'])('key gate with %s', (strategy) => {
  it('skips held-back keys in a few probes and explains an empty pick', () => {
    const held = new Map<string, number>();
    const pool = new KeyPool(strategy, Math.random, gate(held));
    for (let i = 0; i < 1000; i++) pool.upsert(makeKey(`k${i}`));
    held.set('k0', 5_000);
    held.set('k1', 3_000);
    const before = pool.probes;
    for (let i = 0; i < 2000; i++) expect(['k0', 'k1']).not.toContain(pool.pick(null, null, 1_000)!.id);
    // O(1) per pick on average: a held-back key costs one extra probe at most.
    expect((pool.probes - before) / 2000).toBeLessThan(1.1);
    expect(pool.usableCount).toBe(1000);

    const all = new Map(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 10_000 + i] as const));
    const small = new KeyPool(strategy, Math.random, gate(all));
    for (let i = 0; i < 3; i++) small.upsert(makeKey(`k${i}`));
    expect(small.pick(null, null, 1_000)).toBeNull();
    expect(small.pickReason(null, 1_000)).toMatchObject({ usable: 3, rateLimited: 3, earliestReturnAt: 10_000 });
    expect(small.pick(null, null, 10_000)?.id).toBe('k0');
  });
});
