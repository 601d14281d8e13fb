// Per-upstream key selection. Eligible keys (ACTIVE with quota left) live in a
// dense array with each entry's index stored on it (swap-remove), so random
// picks are O(1); round robin walks a ring of the same keys in a fixed order
// (pool-entry.ts: fair when keys leave and come back, O(1) a pick); WEIGHTED adds a Fenwick tree over
// `weight × remaining quota share`, sampled in O(log n). applyKeyChange
// (state/apply-key-change.ts) mutates an ApiKeyState in place and then calls
// refresh(id); that is the only way the pool learns about changes, and each
// refresh is O(log n) at most.
// size: longer because the three strategies share the dense array, the
// categories and the Fenwick tree; split, their invariants would live in two files.

import type { ApiKeyState, KeyStrategy } from './types.ts';
import { categorize, type Category, effectiveWeight, type Entry, hasQuota, minOrNull, RoundRobinRing } from './pool-entry.ts';
import { FenwickTree } from './pool-fenwick.ts';
import type { KeyGate } from './key-gate.ts';

/** Why pick() found nothing; counts are over the whole pool. */
export interface PickReason {
  total: number;
  /** ACTIVE with quota left (then excluded or cooling for the model). */
  usable: number;
  disabled: number;
  banned: number;
  /** EXHAUSTED, or ACTIVE with the quota used up. */
  exhausted: number;
  /** Usable keys cooling down for the model asked about. */
  cooling: number;
  /** Usable keys (not cooling) at their own rate limit or with a provider-reported budget at zero. */
  rateLimited: number;
  /** Earliest disabledUntil, model cooldown end or quota reset among those keys; null when none is known. */
  earliestReturnAt: number | null;
}

/**
 * Misses allowed before the fallback scan: RANDOM draws this many plus one per
 * excluded key; WEIGHTED draws this many after zeroing the excluded keys.
 */
const PROBE_SLACK = 8;

export class KeyPool {
  private readonly entries = new Map<string, Entry>();
  private readonly eligible: Entry[] = [];
  private readonly slots: (Entry | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly counts: Record<Category, number> = { USABLE: 0, DISABLED: 0, BANNED: 0, EXHAUSTED: 0 };
  private weights: FenwickTree | null = null;
  private readonly ring = new RoundRobinRing(this.slots);
  // Slots zeroed for the duration of one weighted pick; reused to avoid allocation.
  private readonly parkedSlots: number[] = [];
  private readonly parkedWeights: number[] = [];
  private version = 0;
  private earliestCache = { version: -1, at: null as number | null };
  /** Candidates examined by pick() so far: exposes the cost per pick to tests and metrics. */
  probes = 0;

  constructor(
    private strategy: KeyStrategy,
    private readonly random: () => number = Math.random,
    private readonly gate: KeyGate | null = null,
  ) {
    this.setStrategy(strategy);
  }

  get size(): number {
    return this.entries.size;
  }

  get usableCount(): number {
    return this.eligible.length;
  }

  get(keyId: string): ApiKeyState | undefined {
    return this.entries.get(keyId)?.key;
  }

  /** O(n): only when the upstream's configured strategy changes. */
  setStrategy(strategy: KeyStrategy): void {
    this.strategy = strategy;
    if (strategy !== 'WEIGHTED') {
      this.weights = null;
      return;
    }
    const tree = new FenwickTree(Math.max(16, this.slots.length));
    for (const e of this.entries.values()) tree.set(e.slot, e.dense >= 0 ? effectiveWeight(e.key) : 0);
    tree.rebuild();
    this.weights = tree;
  }

  upsert(key: ApiKeyState): void {
    const existing = this.entries.get(key.id);
    if (existing !== undefined) {
      existing.key = key;
      this.apply(existing);
      return;
    }
    const slot = this.freeSlots.pop() ?? this.slots.length;
    const entry: Entry = { key, dense: -1, slot, category: categorize(key), next: null, prev: null };
    this.counts[entry.category]++;
    this.ring.ensureSlot(slot);
    this.slots[slot] = entry;
    if (this.weights !== null && slot >= this.weights.capacity) this.weights.grow(this.weights.capacity * 2);
    this.entries.set(key.id, entry);
    this.apply(entry);
  }

  remove(keyId: string): void {
    const e = this.entries.get(keyId);
    if (e === undefined) return;
    this.counts[e.category]--;
    if (e.dense >= 0) this.removeDense(e);
    this.weights?.set(e.slot, 0);
    this.slots[e.slot] = undefined;
    this.freeSlots.push(e.slot);
    this.entries.delete(keyId);
    this.version++;
  }

  noteEveryKeyLimited(): void {
    this.gate?.everyKeyLimited();
  }

  /** Call after changing a key's status, weight, used, quotaLimit or disabledUntil. */
  refresh(keyId: string): void {
    const e = this.entries.get(keyId);
    if (e !== undefined) this.apply(e);
  }

  /**
   * The next key to use, or null. Skips keys in `exclude` (already tried for
   * this request) and keys cooling down for `model`.
   */
  pick(exclude: ReadonlySet<string> | null = null, model: string | null = null, now: number = Date.now()): ApiKeyState | null {
    if (this.eligible.length === 0) return null;
    const skip = exclude !== null && exclude.size > 0 ? exclude : null;
    switch (this.strategy) {
      case 'ROUND_ROBIN':
        return this.pickRoundRobin(skip, model, now);
      case 'RANDOM':
        return this.pickRandom(skip, model, now);
      case 'WEIGHTED':
        return this.pickWeighted(skip, model, now);
    }
  }

  /**
   * Explains an empty pick. Status counts are kept incrementally; the
   * earliest return time is cached until the pool changes, and the cooling
   * count walks the usable keys only (a failed pick has just done the same).
   */
  pickReason(model: string | null = null, now: number = Date.now()): PickReason {
    let earliest = this.earliestStatusReturn();
    let cooling = 0;
    let rateLimited = 0;
    const gate = this.gate !== null && this.gate.gatesKeys ? this.gate : null;
    if (model !== null || gate !== null) {
      for (const e of this.eligible) {
        const until = model !== null ? e.key.modelCooldowns.get(model) : undefined;
        if (until !== undefined && until > now) {
          cooling++;
          earliest = minOrNull(earliest, until);
          continue;
        }
        const roomAt = gate !== null ? gate.keyRoomAt(e.key, now) : 0;
        if (roomAt > now) {
          rateLimited++;
          earliest = minOrNull(earliest, roomAt);
        }
      }
    }
    return {
      total: this.entries.size,
      usable: this.eligible.length,
      disabled: this.counts.DISABLED,
      banned: this.counts.BANNED,
      exhausted: this.counts.EXHAUSTED,
      cooling,
      rateLimited,
      earliestReturnAt: earliest,
    };
  }

  private apply(e: Entry): void {
    const category = categorize(e.key);
    if (category !== e.category) {
      this.counts[e.category]--;
      this.counts[category]++;
      e.category = category;
    }
    if (category === 'USABLE' && e.dense < 0) {
      e.dense = this.eligible.length;
      this.eligible.push(e);
      this.ring.insert(e);
    } else if (category !== 'USABLE' && e.dense >= 0) {
      this.removeDense(e);
    }
    this.weights?.set(e.slot, category === 'USABLE' ? effectiveWeight(e.key) : 0);
    this.version++;
  }

  // Swap-remove keeps the array dense (its order matters only to RANDOM,
  // which ignores it); the round-robin ring keeps its own order.
  private removeDense(e: Entry): void {
    this.ring.remove(e);
    const lastIndex = this.eligible.length - 1;
    const last = this.eligible[lastIndex];
    this.eligible.length = lastIndex;
    if (last !== e) {
      this.eligible[e.dense] = last;
      last.dense = e.dense;
    }
    e.dense = -1;
  }

  private acceptable(e: Entry, exclude: ReadonlySet<string> | null, model: string | null, now: number): boolean {
    const k = e.key;
    // Re-checked here so a key mutated without refresh() fails closed.
    if (k.status !== 'ACTIVE' || !hasQuota(k)) return false;
    if (exclude !== null && exclude.has(k.id)) return false;
    if (model !== null && k.modelCooldowns.size > 0) {
      const until = k.modelCooldowns.get(model);
      if (until !== undefined && until > now) return false;
    }
    if (this.gate !== null && this.gate.gatesKeys && this.gate.keyRoomAt(k, now) > now) return false;
    return true;
  }

  // Walks the ring forward from the cursor; a full walk only happens when
  // nearly every key is excluded or cooling for the model.
  private pickRoundRobin(exclude: ReadonlySet<string> | null, model: string | null, now: number): ApiKeyState | null {
    const n = this.eligible.length;
    let e = this.ring.cursor;
    for (let probed = 0; probed < n && e !== null; probed++) {
      this.probes++;
      const next: Entry | null = e.next;
      if (this.acceptable(e, exclude, model, now)) {
        this.ring.served(e);
        return e.key;
      }
      e = next;
    }
    return null;
  }

  // A few uniform draws (one per excluded key plus slack), then one uniform
  // reservoir pass over the eligible keys when those all miss.
  private pickRandom(exclude: ReadonlySet<string> | null, model: string | null, now: number): ApiKeyState | null {
    const n = this.eligible.length;
    const draws = Math.min(n, (exclude?.size ?? 0) + PROBE_SLACK);
    for (let t = 0; t < draws; t++) {
      const e = this.eligible[Math.floor(this.random() * n)];
      this.probes++;
      if (this.acceptable(e, exclude, model, now)) return e.key;
    }
    let seen = 0;
    let chosen: Entry | null = null;
    for (const e of this.eligible) {
      this.probes++;
      if (this.acceptable(e, exclude, model, now) && this.random() * ++seen < 1) chosen = e;
    }
    return chosen?.key ?? null;
  }

  // Excluded keys are zeroed in the tree for this pick, and so is every drawn
  // key that turns out to be cooling, so each draw makes progress. After
  // PROBE_SLACK misses, one weighted reservoir pass decides. Zeroed weights
  // are restored before returning.
  private pickWeighted(exclude: ReadonlySet<string> | null, model: string | null, now: number): ApiKeyState | null {
    const tree = this.weights;
    if (tree === null) return null; // unreachable: WEIGHTED always has a tree
    let chosen: Entry | null = null;
    try {
      if (exclude !== null) {
        for (const id of exclude) {
          const e = this.entries.get(id);
          if (e !== undefined) this.park(tree, e.slot);
        }
      }
      for (let t = 0; t < PROBE_SLACK && chosen === null; t++) {
        const total = tree.total();
        if (!(total > 0)) break;
        const slot = tree.find(this.random() * total);
        this.probes++;
        const e = this.slots[slot];
        if (e === undefined || tree.value(slot) <= 0) {
          tree.rebuild(); // rounding residue sent the descent astray
          continue;
        }
        if (this.acceptable(e, exclude, model, now)) chosen = e;
        else this.park(tree, slot);
      }
    } finally {
      this.unparkAll(tree);
    }
    return chosen !== null ? chosen.key : this.scanWeighted(tree, exclude, model, now);
  }

  private park(tree: FenwickTree, slot: number): void {
    const w = tree.value(slot);
    if (w <= 0) return;
    this.parkedSlots.push(slot);
    this.parkedWeights.push(w);
    tree.set(slot, 0);
  }

  private unparkAll(tree: FenwickTree): void {
    for (let i = this.parkedSlots.length - 1; i >= 0; i--) tree.set(this.parkedSlots[i], this.parkedWeights[i]);
    this.parkedSlots.length = 0;
    this.parkedWeights.length = 0;
  }

  // Weight-proportional reservoir over acceptable keys; keys of weight 0 are
  // used (uniformly) only when no acceptable key has a positive weight.
  private scanWeighted(tree: FenwickTree, exclude: ReadonlySet<string> | null, model: string | null, now: number): ApiKeyState | null {
    let total = 0;
    let chosen: Entry | null = null;
    let zeroSeen = 0;
    let zeroChosen: Entry | null = null;
    for (const e of this.eligible) {
      this.probes++;
      if (!this.acceptable(e, exclude, model, now)) continue;
      const w = tree.value(e.slot);
      if (w > 0) {
        total += w;
        if (this.random() * total < w) chosen = e;
      } else if (chosen === null && this.random() * ++zeroSeen < 1) {
        zeroChosen = e;
      }
    }
    return (chosen ?? zeroChosen)?.key ?? null;
  }

  // Cached per pool version: an outage (every key disabled, all requests
  // failing) then costs O(1) per request instead of a scan.
  private earliestStatusReturn(): number | null {
    if (this.earliestCache.version === this.version) return this.earliestCache.at;
    let at: number | null = null;
    for (const e of this.entries.values()) {
      if (e.category === 'DISABLED') at = minOrNull(at, e.key.disabledUntil);
      else if (e.category === 'EXHAUSTED') at = minOrNull(at, e.key.quotaResetAt);
    }
    this.earliestCache = { version: this.version, at };
    return at;
  }
}
