import { describe, expect, it } from 'vitest';
import { FenwickTree } from '../../src/state/pool-fenwick.ts';
import { seededRandom } from './pool-fixtures.ts';

describe('FenwickTree', () => {
  it('finds the slot whose cumulative range holds r', () => {
    const tree = new FenwickTree(5);
    [2, 0, 3, 0, 5].forEach((w, i) => tree.set(i, w));
    expect(tree.total()).toBe(10);
    expect([0, 1.99, 2, 4.99, 5, 9.99].map((r) => tree.find(r))).toEqual([0, 0, 2, 2, 4, 4]);
  });

  it('sums the slots before i (the round robin counts usable keys with it)', () => {
    const tree = new FenwickTree(5);
    [1, 0, 1, 1, 0].forEach((w, i) => tree.set(i, w));
    expect([0, 1, 2, 3, 4, 5, 9].map((i) => tree.prefix(i))).toEqual([0, 1, 1, 2, 3, 3, 3]);
    tree.grow(12);
    tree.set(11, 1);
    expect([5, 11, 12].map((i) => tree.prefix(i))).toEqual([3, 3, 4]);
  });

  it('treats negative and non-finite weights as zero', () => {
    const tree = new FenwickTree(3);
    tree.set(0, -4);
    tree.set(1, Number.NaN);
    tree.set(2, Number.POSITIVE_INFINITY);
    expect(tree.total()).toBe(0);
  });

  it('stays consistent with exact sums through many float updates', () => {
    const tree = new FenwickTree(64);
    const random = seededRandom(29);
    const exact = new Array<number>(64).fill(0);
    for (let n = 0; n < 50_000; n++) {
      const i = Math.floor(random() * 64);
      exact[i] = random() * 3;
      tree.set(i, exact[i]);
    }
    const sum = exact.reduce((a, b) => a + b, 0);
    expect(Math.abs(tree.total() - sum)).toBeLessThan(1e-9);
    tree.grow(200);
    expect(tree.capacity).toBe(200);
    expect(Math.abs(tree.total() - sum)).toBeLessThan(1e-9);
  });
});
