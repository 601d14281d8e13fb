import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { parseSchedule, type Schedule } from './schedule.ts';

/**
 * The distinct quota schedules upstreams set for themselves (a cron, a time
 * zone, or both), besides the global one. quota-reset gets one trigger per
 * schedule; whichever fires, the run resets every key whose period is over,
 * so an upstream resetting at midnight Pacific is reset then, not at UTC midnight.
 */
export function upstreamQuotaSchedules(state: GatewayState, global: Schedule, timezone: string, log: Logger): Schedule[] {
  const seen = new Set([`${global.text}\u0000${timezone}`]);
  const out: Schedule[] = [];
  for (const { config: u } of state.upstreamsById.values()) {
    if (!u.quotaResetCron && !u.quotaResetTimezone) continue;
    const text = u.quotaResetCron ?? global.text;
    const zone = u.quotaResetTimezone ?? timezone;
    const id = `${text}\u0000${zone}`;
    if (seen.has(id)) continue;
    seen.add(id);
    try {
      out.push(parseSchedule(text, zone));
    } catch (error) {
      log.warn({ upstreamId: u.id, err: (error as Error).message }, 'upstream quota schedule unusable; its keys reset on the global schedule');
    }
  }
  return out;
}

/** Calls `onChange` after each upstream change (the state has reloaded it by then); returns a stop function. */
export function watchUpstreamChanges(events: EventBus, onChange: () => void, log: Logger): () => Promise<void> {
  const iterator = events.subscribe('config:changed')[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (next.value.kind === 'upstream' || next.value.kind === 'all') onChange();
    }
  })().catch((error: unknown) => log.error({ err: error }, 'watching upstream quota schedules failed'));
  return async () => {
    await iterator.return?.();
  };
}
