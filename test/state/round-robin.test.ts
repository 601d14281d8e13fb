// Round robin while keys leave the ACTIVE set and come back: the pool serves
// its keys in one fixed order, each usable key once a pass, the next pick
// always the first usable key after the one served last (skipping the keys a
// request already tried), and O(1) probes a pick.
import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/state/key-pool.ts';
import { makeKey, seededRandom } from './pool-fixtures.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);

function roundRobin(keys: string[]): KeyPool {
  const pool = new KeyPool('ROUND_ROBIN');
  for (const id of keys) pool.upsert(makeKey(id));
  return pool;
}

function setStatus(pool: KeyPool, id: string, status: 'ACTIVE' | 'DISABLED' | 'BANNED'): void {
  pool.get(id)!.status = status;
  pool.refresh(id);
}

const picks = (pool: KeyPool, n: number) => Array.from({ length: n }, () => pool.pick()?.id ?? null);

describe('KeyPool round robin when keys leave and come back', () => {
  it('a key leaving does not move another key ahead of its turn', () => {
    const pool = roundRobin(ids(6));
    expect(picks(pool, 2)).toEqual(['k0', 'k1']);
    setStatus(pool, 'k2', 'DISABLED');
    // Swap-remove put k5 in k2's place here: k5, k3, k4 and then k0 again.
    expect(picks(pool, 10)).toEqual(['k3', 'k4', 'k5', 'k0', 'k1', 'k3', 'k4', 'k5', 'k0', 'k1']);
  });

  it('several keys in a row leaving: the next pick is the first key after them', () => {
    const pool = roundRobin(ids(8));
    expect(picks(pool, 2)).toEqual(['k0', 'k1']);
    for (const id of ['k2', 'k3', 'k4']) setStatus(pool, id, 'BANNED');
    expect(picks(pool, 5)).toEqual(['k5', 'k6', 'k7', 'k0', 'k1']);
  });

  it('a key coming back takes its own place: this pass if the pass has not reached it, the next otherwise', () => {
    const pool = roundRobin(ids(6));
    setStatus(pool, 'k1', 'DISABLED');
    setStatus(pool, 'k4', 'DISABLED');
    expect(picks(pool, 3)).toEqual(['k0', 'k2', 'k3']);
    setStatus(pool, 'k4', 'ACTIVE'); // still ahead
    setStatus(pool, 'k1', 'ACTIVE'); // already passed
    expect(picks(pool, 8)).toEqual(['k4', 'k5', 'k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('a key coming back right after the last one served is next', () => {
    const pool = roundRobin(ids(4));
    expect(picks(pool, 1)).toEqual(['k0']);
    setStatus(pool, 'k1', 'DISABLED');
    setStatus(pool, 'k1', 'ACTIVE');
    expect(picks(pool, 4)).toEqual(['k1', 'k2', 'k3', 'k0']);
  });

  it('the only key leaving and coming back, and every key gone', () => {
    const pool = roundRobin(['a']);
    expect(picks(pool, 2)).toEqual(['a', 'a']);
    setStatus(pool, 'a', 'DISABLED');
    expect(pool.pick()).toBeNull();
    setStatus(pool, 'a', 'ACTIVE');
    pool.upsert(makeKey('b'));
    expect(picks(pool, 4)).toEqual(['b', 'a', 'b', 'a']);
  });

  it('keys removed from the pool and new ones added: each usable key once a pass', () => {
    const pool = roundRobin(ids(10));
    picks(pool, 3);
    for (const id of ['k1', 'k5', 'k8']) pool.remove(id);
    for (const id of ['n1', 'n2']) pool.upsert(makeKey(id));
    setStatus(pool, 'k6', 'DISABLED');
    const usable = ['k0', 'k2', 'k3', 'k4', 'k7', 'k9', 'n1', 'n2'];
    const first = picks(pool, usable.length);
    expect([...first].sort()).toEqual([...usable].sort());
    // And the same order again, pass after pass.
    expect(picks(pool, usable.length * 3)).toEqual([...first, ...first, ...first]);
  });

  it('follows the fixed order under random churn and exclusions, with O(1) probes a pick', () => {
    const n = 40;
    const keys = ids(n);
    const pool = roundRobin(keys);
    const random = seededRandom(29);
    const usable = new Array<boolean>(n).fill(true);
    let last = -1;
    let picked = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      if (r < 0.2) {
        const i = Math.floor(random() * n);
        usable[i] = !usable[i];
        setStatus(pool, keys[i]!, usable[i] ? 'ACTIVE' : 'DISABLED');
        continue;
      }
      // Some picks are retries that already tried a few keys.
      const tried = r < 0.3 ? new Set(Array.from({ length: 3 }, () => keys[Math.floor(random() * n)]!)) : null;
      let expected: number | null = null;
      for (let d = 1; d <= n; d++) {
        const i = (last + d + n) % n;
        if (usable[i] && !tried?.has(keys[i]!)) {
          expected = i;
          break;
        }
      }
      const got = pool.pick(tried);
      expect(got?.id ?? null, `step ${step}`).toBe(expected === null ? null : keys[expected]);
      if (expected !== null) last = expected;
      picked++;
    }
    // A pick probes the keys it skips (excluded ones, at most 3 here) and the one it takes.
    expect(pool.probes).toBeLessThanOrEqual(picked * 4 + n);
  });
});
