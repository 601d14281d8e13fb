import { describe, expect, it } from 'vitest';
import { fullJitterDelay, parseRetryAfter, retryDelay } from '../../src/upstream-http/backoff.ts';

const low = () => 0;
const high = () => 0.999;

describe('fullJitterDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [50, 1000],
    [2000, 1000],
  ])('attempt %i stays within [0, %i]', (attempt, ceiling) => {
    expect(fullJitterDelay(attempt, 100, 1000, low)).toBe(0);
    const top = fullJitterDelay(attempt, 100, 1000, high);
    expect(top).toBeLessThanOrEqual(ceiling);
    expect(top).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.99));
  });

  it('never exceeds the ceiling even if random returns 1', () => {
    expect(fullJitterDelay(1, 100, 1000, () => 1)).toBe(100);
  });

  it('treats attempt 0 as the first retry', () => {
    expect(fullJitterDelay(0, 100, 1000, high)).toBeLessThanOrEqual(100);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    ['0', 0],
    ['5', 5000],
    [' 120 ', 120_000],
    ['1.5', 1500],
    [['3', '9'], 3000],
    ['Wed, 01 Jan 2025 00:00:10 GMT', 10_000],
    ['Wednesday, 01-Jan-25 00:00:30 GMT', 30_000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', null],
    ['-5', null],
    ['garbage', null],
    ['5s', null],
    ['1.', null],
    ['', null],
    [undefined, null],
    ['May', null],
  ])('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value as string | string[] | undefined, now)).toBe(expected);
  });
});

describe('retryDelay', () => {
  it('uses jittered backoff without Retry-After', () => {
    expect(retryDelay(3, 100, 10_000, null, 5000, 60_000, high)).toBeLessThanOrEqual(400);
    expect(retryDelay(3, 100, 10_000, null, 5000, 60_000, low)).toBe(0);
  });

  it('honours Retry-After and clamps it to its cap', () => {
    expect(retryDelay(1, 100, 1000, 2000, 5000, 60_000)).toBe(2000);
    expect(retryDelay(1, 100, 1000, 90_000, 5000, 60_000)).toBe(5000);
  });

  it('returns null when the wait would overrun the deadline', () => {
    expect(retryDelay(1, 100, 1000, 2000, 5000, 1500)).toBeNull();
    expect(retryDelay(1, 100, 1000, 2000, 5000, 2000)).toBeNull();
    expect(retryDelay(1, 100, 1000, null, 5000, 0, low)).toBeNull();
    expect(retryDelay(4, 100, 1000, null, 5000, 500, high)).toBeNull();
  });
});
