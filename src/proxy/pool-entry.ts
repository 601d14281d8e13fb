// One key's bookkeeping inside a KeyPool, and the pure rules that decide
// whether (and how heavily) a key may be picked.

import type { ApiKeyState } from '../state/types.ts';

export type Category = 'USABLE' | 'DISABLED' | 'BANNED' | 'EXHAUSTED';

export interface Entry {
  key: ApiKeyState;
  /** Index in the dense eligible array, or -1. */
  dense: number;
  /** Slot in the weight tree, fixed while the key is in the pool. */
  slot: number;
  category: Category;
}

export function hasQuota(k: ApiKeyState): boolean {
  return k.quotaLimit === null || (k.used < k.quotaLimit && (k.leaseLeft === null || k.leaseLeft > 0));
}

export function categorize(k: ApiKeyState): Category {
  if (k.status === 'ACTIVE') return hasQuota(k) ? 'USABLE' : 'EXHAUSTED';
  return k.status;
}

export function effectiveWeight(k: ApiKeyState): number {
  const w = k.weight > 0 && Number.isFinite(k.weight) ? k.weight : 0;
  if (k.quotaLimit === null || w === 0) return w;
  return k.quotaLimit > 0 ? (w * Math.max(0, k.quotaLimit - k.used)) / k.quotaLimit : 0;
}

export function minOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null || a <= b ? a : b;
}
