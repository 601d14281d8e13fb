import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/state/key-pool.ts';
import type { KeyStrategy } from '../../src/state/types.ts';
import { countPicks, makeKey, seededRandom } from './pool-fixtures.ts';

const STRATEGIES: KeyStrategy[] = ['ROUND_ROBIN', 'RANDOM', 'WEIGHTED'];

function poolOf(strategy: KeyStrategy, ids: string[], seed = 1): KeyPool {
  const pool = new KeyPool(strategy, seededRandom(seed));
  for (const id of ids) pool.upsert(makeKey(id));
  return pool;
}

describe('KeyPool round robin', () => {
  it('is exactly fair: 30 picks over 3 keys give 10 each', () => {
    const pool = poolOf('ROUND_ROBIN', ['a', 'b', 'c']);
    const counts = countPicks(() => pool.pick(), 30);
    expect(Object.fromEntries(counts)).toEqual({ a: 10, b: 10, c: 10 });
    expect(pool.probes).toBe(30);
  });

  it('walks past excluded keys and keeps the rotation going', () => {
    const pool = poolOf('ROUND_ROBIN', ['a', 'b', 'c']);
    expect(pool.pick(new Set(['a']))?.id).toBe('b');
    expect(pool.pick()?.id).toBe('c');
    expect(pool.pick()?.id).toBe('a');
    expect(pool.pick(new Set(['a', 'b', 'c']))).toBeNull();
  });
});

describe('KeyPool random', () => {
  it('is roughly uniform', () => {
    const pool = poolOf('RANDOM', ['a', 'b', 'c', 'd'], 42);
    const counts = countPicks(() => pool.pick(), 20_000);
    for (const id of ['a', 'b', 'c', 'd']) expect(counts.get(id)).toBeGreaterThan(4_600);
    for (const id of ['a', 'b', 'c', 'd']) expect(counts.get(id)).toBeLessThan(5_400);
  });

  it('falls back to a uniform scan when every draw misses', () => {
    const pool = poolOf('RANDOM', ['a', 'b', 'c', 'd', 'e'], 7);
    const counts = countPicks(() => pool.pick(new Set(['a', 'b', 'c']), null), 2_000);
    expect([...counts.keys()].sort()).toEqual(['d', 'e']);
    expect(counts.get('d')).toBeGreaterThan(800);
  });
});

describe('KeyPool weighted', () => {
  it('follows weights 1:3', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(3));
    pool.upsert(makeKey('light', { weight: 1 }));
    pool.upsert(makeKey('heavy', { weight: 3 }));
    const counts = countPicks(() => pool.pick(), 20_000);
    const share = (counts.get('heavy') ?? 0) / 20_000;
    expect(share).toBeGreaterThan(0.73);
    expect(share).toBeLessThan(0.77);
  });

  it('scales weight by the remaining quota and tracks used via refresh', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(5));
    const fresh = makeKey('fresh', { quotaLimit: 100, used: 0 });
    const spent = makeKey('spent', { quotaLimit: 100, used: 75 });
    pool.upsert(fresh);
    pool.upsert(spent);
    const counts = countPicks(() => pool.pick(), 20_000);
    const share = (counts.get('fresh') ?? 0) / 20_000; // 1 : 0.25
    expect(share).toBeGreaterThan(0.78);
    expect(share).toBeLessThan(0.82);

    spent.used = 100;
    pool.refresh('spent');
    expect(pool.usableCount).toBe(1);
    expect(Object.fromEntries(countPicks(() => pool.pick(), 100))).toEqual({ fresh: 100 });
  });

  it('never picks an excluded key and restores its weight afterwards', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(9));
    pool.upsert(makeKey('a', { weight: 100 }));
    pool.upsert(makeKey('b', { weight: 1 }));
    expect(Object.fromEntries(countPicks(() => pool.pick(new Set(['a'])), 200))).toEqual({ b: 200 });
    const counts = countPicks(() => pool.pick(), 10_000);
    expect(counts.get('a')).toBeGreaterThan(9_800);
  });

  it('uses zero-weight keys only when nothing else is usable', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(11));
    pool.upsert(makeKey('drain', { weight: 0 }));
    pool.upsert(makeKey('live', { weight: 1 }));
    expect(Object.fromEntries(countPicks(() => pool.pick(), 500))).toEqual({ live: 500 });
    expect(pool.pick(new Set(['live']))?.id).toBe('drain');
  });
});

describe.each(STRATEGIES)('KeyPool %s', (strategy) => {
  it('skips keys cooling down for the requested model only', () => {
    const pool = poolOf(strategy, ['a', 'b', 'c']);
    const now = 1_000_000;
    pool.get('a')?.modelCooldowns.set('gpt-4o', now + 60_000);
    pool.get('b')?.modelCooldowns.set('gpt-4o', now - 1); // expired
    const forModel = countPicks(() => pool.pick(null, 'gpt-4o', now), 300);
    expect(forModel.has('a')).toBe(false);
    expect(forModel.get('b')).toBeGreaterThan(50);
    expect(forModel.get('c')).toBeGreaterThan(50);
    expect(countPicks(() => pool.pick(null, 'other', now), 300).get('a')).toBeGreaterThan(50);
    pool.get('c')?.modelCooldowns.set('gpt-4o', now + 5_000);
    expect(pool.pick(new Set(['b']), 'gpt-4o', now)).toBeNull();
  });

  it('follows status changes through refresh, upsert and remove', () => {
    const pool = poolOf(strategy, ['a', 'b']);
    const a = pool.get('a');
    if (a === undefined) throw new Error('missing key');
    a.status = 'DISABLED';
    pool.refresh('a');
    expect(pool.usableCount).toBe(1);
    expect(Object.fromEntries(countPicks(() => pool.pick(), 20))).toEqual({ b: 20 });
    a.status = 'ACTIVE';
    pool.refresh('a');
    expect(countPicks(() => pool.pick(), 200).get('a')).toBeGreaterThan(50);
    pool.upsert(makeKey('b', { status: 'BANNED' }));
    pool.remove('a');
    expect(pool.size).toBe(1);
    expect(pool.usableCount).toBe(0);
    expect(pool.pick()).toBeNull();
    pool.upsert(makeKey('c'));
    expect(pool.pick()?.id).toBe('c');
  });

  it('fails closed on a key mutated without refresh', () => {
    const pool = poolOf(strategy, ['a']);
    const a = pool.get('a');
    if (a === undefined) throw new Error('missing key');
    a.status = 'BANNED';
    expect(pool.pick()).toBeNull();
  });

  it('does not scan: 100k picks over 10k keys stay within a few probes each', () => {
    const pool = new KeyPool(strategy, seededRandom(13));
    const now = 5_000;
    for (let i = 0; i < 10_000; i++) {
      pool.upsert(makeKey(`k${i}`, { weight: 1 + (i % 5), quotaLimit: i % 2 === 0 ? null : 1_000_000 }));
    }
    for (let i = 0; i < 50; i++) pool.get(`k${i * 7}`)?.modelCooldowns.set('m', now + 1_000);
    const exclude = new Set(['k1', 'k2', 'k3']);
    for (let i = 0; i < 100_000; i++) {
      const skip = i % 2 === 0 ? exclude : null;
      const key = pool.pick(skip, 'm', now);
      if (key === null || skip?.has(key.id) || key.modelCooldowns.has('m')) throw new Error(`bad pick ${key?.id}`);
      key.used++;
      pool.refresh(key.id);
    }
    expect(pool.probes).toBeLessThan(100_000 * 1.1);
  });
});

describe('KeyPool pickReason', () => {
  it('counts why nothing is usable and when something returns', () => {
    const pool = new KeyPool('ROUND_ROBIN');
    const now = 1_000;
    pool.upsert(makeKey('d1', { status: 'DISABLED', disabledUntil: 9_000 }));
    pool.upsert(makeKey('d2', { status: 'DISABLED', disabledUntil: 4_000 }));
    pool.upsert(makeKey('d3', { status: 'DISABLED', disabledUntil: null }));
    pool.upsert(makeKey('b', { status: 'BANNED' }));
    pool.upsert(makeKey('e', { status: 'EXHAUSTED', quotaResetAt: 50_000 }));
    pool.upsert(makeKey('q', { quotaLimit: 10, used: 10 }));
    expect(pool.pick(null, null, now)).toBeNull();
    expect(pool.pickReason(null, now)).toEqual({
      total: 6, usable: 0, disabled: 3, banned: 1, exhausted: 2, cooling: 0, rateLimited: 0, earliestReturnAt: 4_000,
    });

    pool.upsert(makeKey('c', { modelCooldowns: new Map([['m', 2_500]]) }));
    expect(pool.pick(null, 'm', now)).toBeNull();
    expect(pool.pickReason('m', now)).toMatchObject({ usable: 1, cooling: 1, earliestReturnAt: 2_500 });

    const d2 = pool.get('d2');
    if (d2 === undefined) throw new Error('missing key');
    d2.status = 'ACTIVE';
    d2.disabledUntil = null;
    pool.refresh('d2');
    expect(pool.pickReason(null, now)).toMatchObject({ disabled: 2, usable: 2, earliestReturnAt: 9_000 });
  });
});

describe('KeyPool fallbacks and strategy changes', () => {
  it('weighted: finds the one usable key behind many heavy cooling keys', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(17));
    for (let i = 0; i < 40; i++) {
      pool.upsert(makeKey(`hot${i}`, { weight: 1_000, modelCooldowns: new Map([['m', 10_000]]) }));
    }
    pool.upsert(makeKey('cold', { weight: 1 }));
    expect(Object.fromEntries(countPicks(() => pool.pick(null, 'm', 0), 50))).toEqual({ cold: 50 });
    // The zeroed weights came back: without the model, the heavy keys dominate again.
    expect(countPicks(() => pool.pick(null, null, 0), 1_000).get('cold') ?? 0).toBeLessThan(10);
  });

  it('setStrategy rebuilds the selection structure', () => {
    const pool = new KeyPool('ROUND_ROBIN', seededRandom(19));
    pool.upsert(makeKey('a', { weight: 1 }));
    pool.upsert(makeKey('b', { weight: 9 }));
    pool.setStrategy('WEIGHTED');
    expect(countPicks(() => pool.pick(), 10_000).get('b')).toBeGreaterThan(8_800);
    pool.setStrategy('ROUND_ROBIN');
    expect(Object.fromEntries(countPicks(() => pool.pick(), 10))).toEqual({ a: 5, b: 5 });
  });

  it('weighted: slots are reused and the tree grows past its initial capacity', () => {
    const pool = new KeyPool('WEIGHTED', seededRandom(23));
    for (let i = 0; i < 100; i++) pool.upsert(makeKey(`k${i}`));
    for (let i = 0; i < 99; i++) pool.remove(`k${i}`);
    for (let i = 0; i < 20; i++) pool.upsert(makeKey(`n${i}`, { weight: 0 }));
    expect(pool.size).toBe(21);
    expect(Object.fromEntries(countPicks(() => pool.pick(), 100))).toEqual({ k99: 100 });
  });
});
