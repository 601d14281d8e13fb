import { describe, expect, it } from 'vitest';
import { createRuleTracker, type TrackedRule } from '../../src/rules/rule-tracker.ts';

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

const rule = (overrides: Partial<TrackedRule> = {}): TrackedRule => ({
  id: 'r1',
  threshold: 3,
  windowSeconds: 60,
  consecutive: false,
  cooldownSeconds: 0,
  ...overrides,
});

describe('threshold within a window', () => {
  it('fires on the third match only, then starts counting again', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    const fired = Array.from({ length: 7 }, () => {
      clock.advance(1);
      return tracker.observe(rule(), 'k1', true);
    });
    expect(fired).toEqual([false, false, true, false, false, true, false]);
  });

  it('does not count non-matches and fires every match at threshold 1', () => {
    const tracker = createRuleTracker({ now: fakeClock().now });
    expect(tracker.observe(rule(), 'k1', true)).toBe(false);
    expect(tracker.observe(rule(), 'k1', false)).toBe(false);
    expect(tracker.observe(rule(), 'k1', true)).toBe(false);
    expect(tracker.observe(rule(), 'k1', true)).toBe(true);
    const once = rule({ id: 'r2', threshold: 1 });
    expect([1, 2, 3].map(() => tracker.observe(once, 'k1', true))).toEqual([true, true, true]);
  });

  it('slides: matches older than the window stop counting', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    expect(tracker.observe(rule(), 'k1', true)).toBe(false); // t=0
    clock.advance(30);
    expect(tracker.observe(rule(), 'k1', true)).toBe(false); // t=30
    clock.advance(31);
    // t=61: the t=0 match has left the window, so this is only the second.
    expect(tracker.observe(rule(), 'k1', true)).toBe(false);
    clock.advance(10);
    // t=71: t=30, t=61, t=71 are all within 60 s.
    expect(tracker.observe(rule(), 'k1', true)).toBe(true);
  });

  it('keeps subjects and rules apart', () => {
    const tracker = createRuleTracker({ now: fakeClock().now });
    tracker.observe(rule(), 'k1', true);
    tracker.observe(rule(), 'k1', true);
    expect(tracker.observe(rule(), 'k1|gpt-4o', true)).toBe(false);
    expect(tracker.observe(rule(), 'k2', true)).toBe(false);
    expect(tracker.observe(rule({ id: 'r2' }), 'k1', true)).toBe(false);
    expect(tracker.observe(rule(), 'k1', true)).toBe(true);
  });
});

describe('consecutive', () => {
  it('counts matches in a row and resets on a non-match', () => {
    const tracker = createRuleTracker({ now: fakeClock().now });
    const streak = rule({ consecutive: true });
    const outcomes = [true, true, false, true, true, true].map((matched) => tracker.observe(streak, 'k1', matched));
    expect(outcomes).toEqual([false, false, false, false, false, true]);
  });

  it('drops a streak left idle for longer than the window', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    const streak = rule({ consecutive: true });
    tracker.observe(streak, 'k1', true);
    tracker.observe(streak, 'k1', true);
    clock.advance(61);
    expect(tracker.observe(streak, 'k1', true)).toBe(false);
    expect(tracker.observe(streak, 'k1', true)).toBe(false);
    expect(tracker.observe(streak, 'k1', true)).toBe(true);
  });
});

describe('cooldown', () => {
  it('ignores matches during the cooldown, then counts afresh', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    const cooled = rule({ threshold: 1, cooldownSeconds: 120 });
    expect(tracker.observe(cooled, 'k1', true)).toBe(true);
    clock.advance(60);
    expect(tracker.observe(cooled, 'k1', true)).toBe(false);
    clock.advance(59);
    expect(tracker.observe(cooled, 'k1', true)).toBe(false);
    expect(tracker.observe(cooled, 'k2', true)).toBe(true);
    clock.advance(1);
    expect(tracker.observe(cooled, 'k1', true)).toBe(true);
  });

  it('does not count matches seen during the cooldown towards the threshold', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    const cooled = rule({ threshold: 2, cooldownSeconds: 30 });
    tracker.observe(cooled, 'k1', true);
    expect(tracker.observe(cooled, 'k1', true)).toBe(true);
    clock.advance(10);
    tracker.observe(cooled, 'k1', true);
    clock.advance(25);
    // Cooldown over; the match at t=10 did not count, so this is the first.
    expect(tracker.observe(cooled, 'k1', true)).toBe(false);
    expect(tracker.observe(cooled, 'k1', true)).toBe(true);
  });
});

describe('memory', () => {
  it('forget drops a key and its per-model subjects only', () => {
    const tracker = createRuleTracker({ now: fakeClock().now });
    for (const subject of ['k1', 'k1|gpt-4o', 'k10', 'k2']) tracker.observe(rule(), subject, true);
    tracker.forget('k1');
    expect(tracker.size).toBe(2);
    tracker.observe(rule(), 'k10', true);
    expect(tracker.observe(rule(), 'k10', true)).toBe(true);
  });

  it('prunes entries whose window and cooldown have passed', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now });
    tracker.observe(rule(), 'k1', true);
    tracker.observe(rule({ threshold: 1, cooldownSeconds: 600 }), 'k2', true);
    clock.advance(61);
    tracker.prune();
    expect(tracker.size).toBe(1);
    clock.advance(600);
    tracker.prune();
    expect(tracker.size).toBe(0);
  });

  it('caps entries, evicting the least recently active', () => {
    const tracker = createRuleTracker({ now: fakeClock().now, maxEntries: 3 });
    for (const subject of ['a', 'b', 'c']) tracker.observe(rule(), subject, true);
    tracker.observe(rule(), 'a', true);
    tracker.observe(rule(), 'd', true);
    expect(tracker.size).toBe(3);
    // 'b' was evicted, so it starts over; 'a' kept its two matches.
    expect(tracker.observe(rule(), 'a', true)).toBe(true);
    tracker.observe(rule(), 'b', true);
    expect(tracker.observe(rule(), 'b', true)).toBe(false);
  });

  it('stays bounded under many subjects', () => {
    const clock = fakeClock();
    const tracker = createRuleTracker({ now: clock.now, maxEntries: 1000 });
    for (let index = 0; index < 10_000; index += 1) tracker.observe(rule(), `k${index}`, true);
    expect(tracker.size).toBe(1000);
  });
});
