// One key's bookkeeping inside a KeyPool, the pure rules that decide
// whether (and how heavily) a key may be picked, and the round-robin ring.

import type { ApiKeyState } from './types.ts';
import { FenwickTree } from './pool-fenwick.ts';

export type Category = 'USABLE' | 'DISABLED' | 'BANNED' | 'EXHAUSTED';

export interface Entry {
  key: ApiKeyState;
  /** Index in the dense eligible array, or -1. */
  dense: number;
  /** Slot in the weight tree, fixed while the key is in the pool; also its place in the round-robin order. */
  slot: number;
  category: Category;
  /** Neighbours in the round-robin ring while usable; null while out of it. */
  next: Entry | null;
  prev: Entry | null;
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

/**
 * The usable keys in a circular list in slot order, with a cursor on the
 * next one to serve: always the first usable key after the last one served.
 * The order never changes while keys leave and come back: a key leaves by
 * unlinking (O(1)), and comes back at its own place, found by counting the
 * usable slots before it in a Fenwick tree of 0/1 (O(log n)). So a pass
 * serves every usable key exactly once, in the same order every time, and a
 * key that returns mid-pass is served in this pass if its place is still
 * ahead, in the next one otherwise.
 */
export class RoundRobinRing {
  private readonly order: FenwickTree;
  /** The next key to serve; null when the ring is empty. */
  cursor: Entry | null = null;
  /** Slot of the key served last (-1 before the first): the pass goes on after it. */
  private lastSlot = -1;

  constructor(private readonly slots: readonly (Entry | undefined)[]) {
    this.order = new FenwickTree(16);
  }

  /** Call before `slot` is used: the order tree holds every slot. */
  ensureSlot(slot: number): void {
    if (slot >= this.order.capacity) this.order.grow(Math.max(this.order.capacity * 2, slot + 1));
  }

  insert(e: Entry): void {
    if (e.next !== null) return;
    const total = this.order.total();
    if (total === 0) {
      e.next = e.prev = e;
      this.cursor = e;
    } else {
      const before = this.order.prefix(e.slot);
      const successor = this.slots[this.order.find(before < total ? before : 0)]!;
      const predecessor = successor.prev!;
      e.prev = predecessor;
      e.next = successor;
      predecessor.next = e;
      successor.prev = e;
      if (this.isAhead(e.slot)) this.cursor = e;
    }
    this.order.set(e.slot, 1);
  }

  /** `e` was picked: the pass continues after it. */
  served(e: Entry): void {
    this.lastSlot = e.slot;
    this.cursor = e.next;
  }

  /** Whether `slot` lies after the last served slot and before the cursor's, going round. */
  private isAhead(slot: number): boolean {
    const from = this.lastSlot;
    const to = this.cursor!.slot;
    return from < to ? slot > from && slot < to : slot > from || slot < to;
  }

  remove(e: Entry): void {
    const next = e.next;
    if (next === null) return;
    if (next === e) this.cursor = null;
    else {
      e.prev!.next = next;
      next.prev = e.prev;
      if (this.cursor === e) this.cursor = next;
    }
    e.next = e.prev = null;
    this.order.set(e.slot, 0);
  }
}
