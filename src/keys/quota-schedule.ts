import { Cron } from 'croner';
import type { UpstreamConfig } from '../state/types.ts';

// Parsing a cron pattern costs far more than asking it for the next run, and
// the same few patterns are asked again and again: keep the parsed ones.
const parsed = new Map<string, Cron | null>();
const MAX_CACHED = 256;

function cronFor(pattern: string, timezone: string): Cron | null {
  const id = `${timezone}\u0000${pattern}`;
  let cron = parsed.get(id);
  if (cron === undefined) {
    try {
      cron = new Cron(pattern, { timezone, paused: true });
    } catch {
      cron = null;
    }
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(id, cron);
  }
  return cron;
}

/**
 * Why a quota reset schedule cannot be used, or null when it can: for the
 * admin API to reject a bad pattern or time zone when an upstream is saved.
 */
export function checkQuotaSchedule(pattern: string, timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `unknown time zone "${timezone}"`;
  }
  try {
    const cron = new Cron(pattern, { timezone, paused: true });
    if (cron.nextRun(new Date()) === null) return 'the pattern never fires again';
  } catch (error) {
    return `not a cron pattern: ${(error as Error).message}`;
  }
  return null;
}

/**
 * Epoch ms of the next quota reset after `now`: the upstream's own schedule
 * (quotaResetCron, in quotaResetTimezone or else the global zone), else the
 * global KEYRELAY_QUOTA_RESET_CRON in KEYRELAY_TIMEZONE. Null when neither
 * schedule parses or fires again; callers decide the fallback.
 */
export function nextQuotaResetAt(
  upstream: Pick<UpstreamConfig, 'quotaResetCron' | 'quotaResetTimezone'>,
  globalCron: string,
  timezone: string,
  now: number,
): number | null {
  const zone = upstream.quotaResetTimezone ?? timezone;
  const own = upstream.quotaResetCron ? cronFor(upstream.quotaResetCron, zone) : null;
  const cron = own ?? cronFor(globalCron, zone);
  const next = cron?.nextRun(new Date(now)) ?? null;
  return next ? next.getTime() : null;
}
