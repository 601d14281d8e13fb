import type { GatewayState } from '../state/gateway-state.ts';

export interface KeyCounts {
  total: number;
  active: number;
  disabled: number;
  banned: number;
  exhausted: number;
}

/** Keys by status, from the in-memory state (no query): one upstream's, or all when upstreamId is null. */
export function countKeys(state: GatewayState, upstreamId: string | null): KeyCounts {
  const counts: KeyCounts = { total: 0, active: 0, disabled: 0, banned: 0, exhausted: 0 };
  const keys = upstreamId ? (state.upstreamsById.get(upstreamId)?.keys.values() ?? []) : state.keys.values();
  for (const key of keys) {
    counts.total++;
    if (key.status === 'ACTIVE') counts.active++;
    else if (key.status === 'DISABLED') counts.disabled++;
    else if (key.status === 'BANNED') counts.banned++;
    else counts.exhausted++;
  }
  return counts;
}
