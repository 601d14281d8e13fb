import { setTimeout as sleep } from 'node:timers/promises';

/** At most this many tries per notification (the first and four retries). */
export const MAX_ATTEMPTS = 5;

export interface AttemptOutcome {
  ok: boolean;
  /** A failure worth trying again (a network error, a timeout, a 5xx; not a 4xx). */
  retryable: boolean;
  error: string | null;
}

export interface SendResult {
  ok: boolean;
  attempts: number;
  /** The last error, when it failed for good. */
  error: string | null;
}

export interface RetryOptions {
  /** Delay before the second attempt; doubled before each later one. */
  backoffMs: number;
  maxAttempts?: number;
  /** Aborted at shutdown: no more waiting between attempts. */
  signal?: AbortSignal;
}

/**
 * Tries `attempt` until it succeeds, fails for good, or has been tried
 * maxAttempts times, waiting backoffMs · 2^(n-1) (plus up to a fifth more, so
 * many channels failing together do not retry in step) between tries.
 */
export async function withRetries(attempt: (n: number) => Promise<AttemptOutcome>, opts: RetryOptions): Promise<SendResult> {
  const max = opts.maxAttempts ?? MAX_ATTEMPTS;
  let last: AttemptOutcome = { ok: false, retryable: false, error: 'not attempted' };
  for (let n = 1; n <= max; n++) {
    last = await attempt(n);
    if (last.ok) return { ok: true, attempts: n, error: null };
    if (!last.retryable || n === max || opts.signal?.aborted) return { ok: false, attempts: n, error: last.error };
    const delay = opts.backoffMs * 2 ** (n - 1);
    try {
      await sleep(delay + Math.random() * delay * 0.2, undefined, { signal: opts.signal });
    } catch {
      return { ok: false, attempts: n, error: `${last.error} (stopped at shutdown)` };
    }
  }
  return { ok: false, attempts: max, error: last.error };
}
