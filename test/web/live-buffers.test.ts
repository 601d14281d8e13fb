// The dashboard's live buffers under a flood (1,000 events a second): the tail
// renders at most once a frame and keeps 500 rows; the chart series keeps a
// fixed ring of buckets whatever the traffic.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effect } from '@preact/signals';
import { LiveTail } from '../../web/src/live/tail.ts';
import { RollingSeries } from '../../web/src/live/rolling-series.ts';

describe('LiveTail', () => {
  const frames: Array<() => void> = [];
  vi.stubGlobal('requestAnimationFrame', (fn: () => void) => frames.push(fn));
  vi.stubGlobal('cancelAnimationFrame', () => {});
  afterEach(() => void frames.splice(0));

  it('applies a burst in one render, newest first, bounded', () => {
    const tail = new LiveTail<{ id: string }>(500);
    let renders = 0;
    effect(() => void (tail.rows.value, renders++));
    for (let i = 0; i < 1000; i++) tail.push({ id: String(i) });
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(renders).toBe(2); // the initial read, then one update
    expect(tail.rows.value).toHaveLength(500);
    expect(tail.rows.value[0].id).toBe('999');
    expect(tail.rows.value[499].id).toBe('500');
  });

  it('holds rows while paused and shows them on resume', () => {
    const tail = new LiveTail<{ id: string }>(3);
    tail.reset([{ id: 'a' }]);
    tail.setPaused(true);
    for (const id of ['b', 'c', 'd', 'e']) tail.push({ id });
    expect(frames).toHaveLength(0);
    expect(tail.held.value).toBe(3);
    expect(tail.rows.value.map((r) => r.id)).toEqual(['a']);
    tail.setPaused(false);
    expect(tail.rows.value.map((r) => r.id)).toEqual(['e', 'd', 'c']);
    expect(tail.held.value).toBe(0);
  });
});

describe('RollingSeries', () => {
  // Mid-bucket, so no bucket boundary passes during a test.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:05Z'));
  });
  afterEach(() => void vi.useRealTimers());

  it('keeps a fixed number of buckets and reads percentiles from them', () => {
    const series = new RollingSeries(10_000, 90);
    const now = Date.now();
    for (let i = 0; i < 10_000; i++) series.add(now, i % 100 === 0 ? 1000 : 20, i % 50 === 0);
    const [x, rate, success, p50, p95] = series.columns();
    expect(x).toHaveLength(90);
    expect(rate.at(-1)).toBe(1000);
    expect(success.at(-1)).toBe(98);
    // Log-spaced bins: within ~19% of the true value.
    expect(p50.at(-1)).toBeGreaterThanOrEqual(20);
    expect(p50.at(-1)).toBeLessThan(24);
    expect(p95.at(-1)).toBeLessThan(24);
    expect(p50.slice(0, -1).every((v) => v === null)).toBe(true);
  });

  it('seeds past buckets from stats without overwriting live ones', () => {
    const series = new RollingSeries(10_000, 90);
    const now = Date.now();
    series.add(now, 5, false);
    const current = new Date(Math.floor(now / 10_000) * 10_000).toISOString();
    const earlier = new Date(Math.floor(now / 10_000) * 10_000 - 60_000).toISOString();
    series.seed([{ start: earlier, requests: 30, errors: 3 }, { start: current, requests: 99, errors: 0 }]);
    const [, rate, success] = series.columns();
    expect(rate.at(-1)).toBe(0.1);
    expect(rate.at(-7)).toBe(3);
    expect(success.at(-7)).toBe(90);
  });
});
