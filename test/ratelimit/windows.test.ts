// The counters and the provider-header parser as pure functions, on a
// simulated clock: exact sliding windows (no 2x at a boundary), token minutes,
// OpenAI durations, Anthropic RFC 3339 times and retry-after.
import { describe, expect, it } from 'vitest';
import { LimitCounter } from '../../src/ratelimit/limit-counter.ts';
import { parseDuration, readProviderLimits } from '../../src/ratelimit/provider-headers.ts';
import { createRequestWindow, TokenWindow } from '../../src/ratelimit/windows.ts';

function admitted(window: ReturnType<typeof createRequestWindow>, times: number[]): number {
  let n = 0;
  for (const at of times) {
    if (window.roomAt(at) <= at) {
      window.record(at);
      n++;
    }
  }
  return n;
}

describe('request windows', () => {
  it('never lets more than the limit through in any window, across a boundary', () => {
    const window = createRequestWindow(10, 1000);
    // A burst at the end of one second and again at the start of the next: a fixed window would pass 2 × limit.
    const burst = (at: number, n: number) => Array.from({ length: n }, () => at);
    expect(admitted(window, [...burst(990, 10), ...burst(1010, 10)])).toBe(10);
    expect(admitted(window, burst(1989, 10))).toBe(0);
    expect(admitted(window, burst(1990, 10))).toBe(10);
  });

  it('large limits use a token bucket: the burst plus only what refilled since', () => {
    const window = createRequestWindow(5000, 1000);
    const burst = (at: number, n: number) => Array.from({ length: n }, () => at);
    // 20 ms refill 100 requests at 5,000 per second.
    const n = admitted(window, [...burst(990, 5000), ...burst(1010, 5000)]);
    // (5,099 when the float sum of 0.2 ms steps lands just past the 100th.)
    expect(n).toBeGreaterThanOrEqual(5099);
    expect(n).toBeLessThanOrEqual(5100);
  });

  it('frees a slot exactly when its request leaves the window, and reports what is left', () => {
    const window = createRequestWindow(3, 1000);
    window.record(0);
    window.record(100);
    expect(window.remaining(100)).toBe(1);
    window.record(200);
    expect(window.roomAt(500)).toBe(1000);
    expect(window.remaining(1000)).toBe(1);
    expect(window.resetAt(1000)).toBe(1200);
  });
});

describe('token minutes', () => {
  it('counts tokens over the last 60 seconds and says when there is room again', () => {
    const tokens = new TokenWindow(100);
    tokens.charge(1_000, 40);
    tokens.charge(20_000, 40);
    tokens.charge(30_000, 40);
    expect(tokens.used(30_500)).toBe(120);
    expect(tokens.roomAt(30_500)).toBe(61_000);
    expect(tokens.used(61_000)).toBe(80);
  });

  it('a counter with several parts is blocked by the tightest', () => {
    const counter = new LimitCounter({ id: 'l', scope: 'ACCESS_TOKEN', targetId: 't', requests: 10, perSeconds: 1, concurrent: 1, tokensPerMinute: null });
    expect(counter.check(0)).toBeNull();
    counter.take(0);
    expect(counter.check(1)).toMatchObject({ kind: 'concurrent' });
    counter.release();
    expect(counter.check(1)).toBeNull();
  });
});

describe('provider headers', () => {
  it('reads OpenAI durations', () => {
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1h2m3s')).toBe(3_723_000);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('5x')).toBeNull();
  });

  it('blocks a key at zero until the reset, OpenAI and Anthropic style', () => {
    const now = 1_700_000_000_000;
    expect(readProviderLimits(200, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1.5s', 'x-ratelimit-remaining-tokens': '50' }, now)).toMatchObject({
      remainingRequests: 0,
      remainingTokens: 50,
      blockedUntil: now + 1500,
    });
    const reset = new Date(now + 30_000).toISOString();
    expect(readProviderLimits(200, { 'anthropic-ratelimit-tokens-remaining': '0', 'anthropic-ratelimit-tokens-reset': reset }, now)).toMatchObject({ remainingTokens: 0, blockedUntil: now + 30_000 });
    expect(readProviderLimits(200, { 'x-ratelimit-remaining-requests': '12', 'x-ratelimit-reset-requests': '6m0s' }, now)).toMatchObject({ blockedUntil: 0, requestsResetAt: now + 360_000 });
    expect(readProviderLimits(429, { 'retry-after': '7' }, now)).toMatchObject({ blockedUntil: now + 7000 });
    expect(readProviderLimits(200, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': String((now + 4000) / 1000) }, now)).toMatchObject({ blockedUntil: now + 4000 });
    expect(readProviderLimits(200, { 'content-type': 'application/json' }, now)).toBeNull();
    expect(readProviderLimits(200, { 'x-ratelimit-remaining-requests': 'lots' }, now)).toBeNull();
  });
});
