import type { ApiKeyState } from '../../src/state/types.ts';

export { seededRandom } from '../support/seeded-random.ts';

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
    leaseLeft: null,
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
