import type { ApiKeyState } from '../../src/state/types.ts';

/** mulberry32: a small seeded PRNG so distribution tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeKey(id: string, overrides: Partial<ApiKeyState> = {}): ApiKeyState {
  return {
    id,
    upstreamId: 'up-1',
    name: id,
    secret: `sk-${id}`,
    fingerprint: id,
    status: 'ACTIVE',
    disabledUntil: null,
    statusReason: null,
    weight: 1,
    quotaLimit: null,
    used: 0,
    quotaResetAt: null,
    modelCooldowns: new Map(),
    disableCount: 0,
    ...overrides,
  };
}

export function countPicks(pick: () => ApiKeyState | null, times: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < times; i++) {
    const id = pick()?.id ?? 'none';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
