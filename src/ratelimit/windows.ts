// The counters behind every limit, each O(1) per request and allocation-free
// on the hot path.
//
// Why not rate-limiter-flexible (11.4, evaluated first, as issue 15 asks):
// RateLimiterMemory counts in fixed windows (a record that starts at a
// subject's first request and expires after `duration`, with a setTimeout per
// record), so a client can get 2 × `requests` through around a window's end;
// and every consume() builds a new Promise, a microtask per check on a path
// that otherwise settles synchronously. Its Redis limiter is still a natural
// backend for the scale-out work: the RateLimiter interface (limiter.ts)
// allows an asynchronous implementation.

/**
 * `limit` requests in any `windowMs`: a ring of the last `limit` admission
 * times. The request is admitted when the oldest of them left the window, so
 * no boundary ever lets more through (a sliding log, exact). Past LOG_MAX the
 * ring would cost too much memory per subject, and a GCRA (a token bucket of
 * `limit` tokens refilled evenly over the window) takes its place.
 */
const LOG_MAX = 4096;

export interface RequestWindow {
  readonly limit: number;
  /** Epoch ms when the next request fits; <= now when it fits now. */
  roomAt(now: number): number;
  /** Requests that still fit now. */
  remaining(now: number): number;
  /** Epoch ms when the window is whole again (every slot free). */
  resetAt(now: number): number;
  record(now: number): void;
}

export function createRequestWindow(limit: number, windowMs: number): RequestWindow {
  return limit <= LOG_MAX ? new SlidingLog(limit, windowMs) : new CellRate(limit, windowMs);
}

class SlidingLog implements RequestWindow {
  private readonly times: Float64Array;
  private next = 0;

  constructor(readonly limit: number, private readonly windowMs: number) {
    // -Infinity: never used, so always outside the window.
    this.times = new Float64Array(limit).fill(-Infinity);
  }

  roomAt(_now: number): number {
    return this.times[this.next] + this.windowMs;
  }

  remaining(now: number): number {
    // The ring holds times oldest first from `next`: a binary search for the first still in the window.
    let lo = 0;
    let hi = this.limit;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[(this.next + mid) % this.limit] + this.windowMs <= now) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  resetAt(_now: number): number {
    const newest = this.times[(this.next + this.limit - 1) % this.limit];
    return newest + this.windowMs;
  }

  record(now: number): void {
    this.times[this.next] = now;
    this.next = this.next + 1 === this.limit ? 0 : this.next + 1;
  }
}

class CellRate implements RequestWindow {
  /** Theoretical arrival time of the next request (GCRA). */
  private tat = -Infinity;
  private readonly interval: number;

  constructor(readonly limit: number, private readonly windowMs: number) {
    this.interval = windowMs / limit;
  }

  roomAt(now: number): number {
    const tat = Math.max(this.tat, now);
    return tat - this.windowMs + this.interval;
  }

  remaining(now: number): number {
    const tat = Math.max(this.tat, now);
    return Math.max(0, Math.floor((now + this.windowMs - tat) / this.interval));
  }

  resetAt(now: number): number {
    return Math.max(this.tat, now);
  }

  record(now: number): void {
    this.tat = Math.max(this.tat, now) + this.interval;
  }
}

/**
 * Tokens used in the last minute, in 60 one-second buckets: charged after a
 * response (from its `usage`), so a limit can be overshot by one request.
 */
export class TokenWindow {
  private readonly buckets = new Float64Array(60);
  private readonly seconds = new Float64Array(60).fill(-1);
  private total = 0;

  constructor(readonly limit: number) {}

  used(now: number): number {
    this.expire(Math.floor(now / 1000));
    return this.total;
  }

  charge(now: number, tokens: number): void {
    if (!(tokens > 0)) return;
    const second = Math.floor(now / 1000);
    this.expire(second);
    const i = second % 60;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i] += tokens;
    this.total += tokens;
  }

  /** Epoch ms when usage drops below the limit again (only asked when it is not). */
  roomAt(now: number): number {
    const second = Math.floor(now / 1000);
    let total = this.used(now);
    for (let s = second - 59; s <= second; s++) {
      const i = ((s % 60) + 60) % 60;
      if (this.seconds[i] === s) total -= this.buckets[i];
      if (total < this.limit) return (s + 60) * 1000;
    }
    return (second + 60) * 1000;
  }

  private lastSecond = -1;

  private expire(second: number): void {
    if (second === this.lastSecond) return;
    this.lastSecond = second;
    for (let i = 0; i < 60; i++) {
      if (this.seconds[i] >= 0 && this.seconds[i] <= second - 60) {
        this.total -= this.buckets[i];
        this.buckets[i] = 0;
        this.seconds[i] = -1;
      }
    }
  }
}
