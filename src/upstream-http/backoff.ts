// Retry waits: full jitter (AWS "Exponential Backoff and Jitter", as Envoy's
// router does) so retries from many clients do not line up, Retry-After
// honoured but capped, and nothing that would overrun the request deadline.

/**
 * A random wait in [0, min(capMs, baseMs·2^(attempt-1))] whole ms, where
 * `attempt` is the 1-based retry number.
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  // 2 ** 1024 is Infinity, which min() handles; clamp only the low end.
  const ceiling = Math.max(0, Math.min(capMs, baseMs * 2 ** (Math.max(1, attempt) - 1)));
  // floor(r·(c+1)) with r in [0,1) makes both ends reachable; the min() guards
  // an injected random that returns exactly 1.
  return Math.min(ceiling, Math.floor(random() * (ceiling + 1)));
}

function parseDeltaSeconds(s: string): number | null {
  // 1*DIGIT per RFC 9110 §10.2.3; a fraction ("1.5") is tolerated because
  // some providers send one.
  let seenDot = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e && !seenDot && i > 0 && i < s.length - 1) seenDot = true;
    else if (c < 0x30 || c > 0x39) return null;
  }
  return Math.ceil(Number(s) * 1000);
}

/**
 * Retry-After as ms from `now`: delta-seconds or an HTTP-date. Null for
 * garbage, negative numbers and dates already past (often just clock skew,
 * so the caller's own backoff is the better guess).
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | null {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return null;
  const s = raw.trim();
  if (s.length === 0) return null;
  const first = s.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) return parseDeltaSeconds(s);
  // HTTP-dates start with a day name; Date.parse alone would accept far too
  // much ("1", "May"), so anything else is garbage.
  const lower = first | 0x20;
  if (lower < 0x61 || lower > 0x7a) return null;
  const at = Date.parse(s);
  if (Number.isNaN(at) || at <= now) return null;
  return at - now;
}

/**
 * How long to wait before retry number `attempt`, or null when that wait
 * would use up the rest of the deadline (no time left for the attempt).
 * A Retry-After beyond its cap is clamped to the cap.
 */
export function retryDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  retryAfterMs: number | null,
  retryAfterCapMs: number,
  remainingDeadlineMs: number,
  random: () => number = Math.random,
): number | null {
  const delay =
    retryAfterMs !== null
      ? Math.min(Math.max(0, retryAfterMs), retryAfterCapMs)
      : fullJitterDelay(attempt, baseMs, capMs, random);
  return delay >= remainingDeadlineMs ? null : delay;
}
