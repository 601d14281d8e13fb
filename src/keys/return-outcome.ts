/** A health probe's answer for a key whose disable time is over. */
export interface ReturnVerdict {
  ok: boolean;
  reason: string;
  /** How much longer a key that failed its probe stays out. */
  retryInMs: number;
}

export type ReturnOutcome = { to: 'ACTIVE'; reason: string; until: null } | { to: 'DISABLED'; reason: string; until: number };

/**
 * What a DISABLED key whose time is up becomes. Shared by the lifecycle's
 * in-process timers and the key-reenable job (the safety net), so both store
 * the same status, reason and retry time. `verdict` is null when the upstream
 * has no probe.
 */
export function returnOutcome(verdict: ReturnVerdict | null | undefined, now: number): ReturnOutcome {
  if (!verdict) return { to: 'ACTIVE', reason: 'disable time over', until: null };
  if (verdict.ok) return { to: 'ACTIVE', reason: 'disable time over; probe passed', until: null };
  return { to: 'DISABLED', reason: `probe failed: ${verdict.reason}`, until: now + verdict.retryInMs };
}
