// Fenwick (binary indexed) tree over non-negative float weights: point update
// and weighted sampling by prefix-sum descent, both O(log n). Used by KeyPool
// for the WEIGHTED strategy, and (with weights 0 and 1) to find where a key
// that becomes usable again belongs in the round-robin ring.

export class FenwickTree {
  private tree: Float64Array; // 1-based partial sums
  private values: Float64Array; // 0-based exact weights (the source of truth)
  private size: number;
  private highBit: number;
  private updatesSinceRebuild = 0;

  constructor(capacity: number) {
    this.size = Math.max(1, capacity);
    this.tree = new Float64Array(this.size + 1);
    this.values = new Float64Array(this.size);
    this.highBit = highestPowerOfTwo(this.size);
  }

  get capacity(): number {
    return this.size;
  }

  value(i: number): number {
    return i < this.size ? this.values[i] : 0;
  }

  set(i: number, weight: number): void {
    const v = weight > 0 && Number.isFinite(weight) ? weight : 0;
    const delta = v - this.values[i];
    if (delta === 0) return;
    this.values[i] = v;
    for (let j = i + 1; j <= this.size; j += j & -j) this.tree[j] += delta;
    // Float deltas leave rounding residue in the partial sums; rebuilding from
    // the exact values every `size` updates keeps it bounded at O(1) amortised.
    if (++this.updatesSinceRebuild > Math.max(1024, this.size)) this.rebuild();
  }

  total(): number {
    let sum = 0;
    for (let j = this.size; j > 0; j -= j & -j) sum += this.tree[j];
    return sum;
  }

  /** Sum of the weights of slots 0 .. i-1. */
  prefix(i: number): number {
    let sum = 0;
    for (let j = Math.min(i, this.size); j > 0; j -= j & -j) sum += this.tree[j];
    return sum;
  }

  /**
   * The slot whose cumulative range contains `r` (0 <= r < total()). May
   * return a zero-weight slot or `capacity` only through rounding residue;
   * callers treat that as a miss and call rebuild().
   */
  find(r: number): number {
    let pos = 0;
    let rest = r;
    for (let step = this.highBit; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.size && this.tree[next] <= rest) {
        pos = next;
        rest -= this.tree[next];
      }
    }
    return pos;
  }

  grow(capacity: number): void {
    if (capacity <= this.size) return;
    const values = new Float64Array(capacity);
    values.set(this.values);
    this.values = values;
    this.size = capacity;
    this.tree = new Float64Array(capacity + 1);
    this.highBit = highestPowerOfTwo(capacity);
    this.rebuild();
  }

  /** O(n) rebuild of the partial sums from the exact values. */
  rebuild(): void {
    const n = this.size;
    const tree = this.tree;
    for (let i = 1; i <= n; i++) tree[i] = this.values[i - 1];
    for (let i = 1; i <= n; i++) {
      const parent = i + (i & -i);
      if (parent <= n) tree[parent] += tree[i];
    }
    this.updatesSinceRebuild = 0;
  }
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
