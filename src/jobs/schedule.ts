import { Cron } from 'croner';

/**
 * A job schedule as an operator writes it: a cron expression (5 fields, or 6
 * with seconds) read in a time zone, a fixed period (`10m`, `30s`, `1h`), or
 * `off` (runs only when started by hand). The same parser serves the
 * environment, `setJobSchedule` and the quota-reset worker, so what the API
 * accepts is exactly what runs.
 */
export type Schedule =
  | { kind: 'cron'; text: string; timezone: string; cron: Cron }
  | { kind: 'every'; text: string; everyMs: number }
  | { kind: 'off'; text: 'off' };

export class ScheduleError extends Error {}

const PERIOD = /^(\d+)\s*(s|m|h|d)$/i;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseSchedule(text: string, timezone: string): Schedule {
  const trimmed = text.trim();
  if (trimmed === 'off') return { kind: 'off', text: 'off' };
  const period = PERIOD.exec(trimmed);
  if (period) {
    const everyMs = Number(period[1]) * UNIT_MS[period[2]!.toLowerCase() as keyof typeof UNIT_MS];
    if (everyMs < 1000) throw new ScheduleError('a period must be at least 1s');
    return { kind: 'every', text: trimmed, everyMs };
  }
  const fields = trimmed.split(/\s+/).length;
  if (!isTimeZone(timezone)) throw new ScheduleError(`unknown time zone "${timezone}"`);
  if (fields !== 5 && fields !== 6) throw new ScheduleError(`"${trimmed}" is neither a cron expression (5 or 6 fields), a period like 10m, nor "off"`);
  try {
    // Without a callback croner only evaluates the pattern; no timer starts.
    return { kind: 'cron', text: trimmed, timezone, cron: new Cron(trimmed, { timezone, mode: '5-or-6-parts' }) };
  } catch (error) {
    throw new ScheduleError(`invalid cron expression "${trimmed}" or time zone "${timezone}": ${(error as Error).message}`);
  }
}

/** An IANA zone name (or UTC) this runtime knows; croner itself accepts any string. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The first run strictly after `after`; null when the schedule never runs. */
export function nextRunAfter(schedule: Schedule, after: number): number | null {
  if (schedule.kind === 'off') return null;
  if (schedule.kind === 'every') return after + schedule.everyMs;
  return schedule.cron.nextRun(new Date(after))?.getTime() ?? null;
}

export interface Trigger {
  nextRunAt(): number | null;
  stop(): void;
}

/**
 * Arms a timer that calls `fire` on the schedule until stopped, with the
 * tick it fires for (the scheduled time, not the moment the timer woke): in
 * cluster mode the instances claim ticks by that time, so a fixed period is
 * then `aligned` to the clock (multiples of the period since the epoch) and
 * every instance names the same ticks. Alone, a period counts from the start.
 */
export function startTrigger(schedule: Schedule, fire: (tick: number) => void, opts: { aligned?: boolean } = {}): Trigger {
  if (schedule.kind === 'off') return { nextRunAt: () => null, stop: () => {} };
  if (schedule.kind === 'cron') {
    // A cron run's second is its tick: croner wakes at or just after it (never a whole second early).
    const job = new Cron(schedule.text, { timezone: schedule.timezone, mode: '5-or-6-parts', unref: true, catch: true }, (self: Cron) => {
      fire(self.previousRuns(1, new Date(Date.now() + 50))[0]?.getTime() ?? Date.now());
    });
    return { nextRunAt: () => job.nextRun()?.getTime() ?? null, stop: () => job.stop() };
  }
  const every = schedule.everyMs;
  const following = (now: number) => (opts.aligned ? (Math.floor(now / every) + 1) * every : now + every);
  let next = following(Date.now());
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    timer = setTimeout(() => {
      const tick = next;
      next = following(Math.max(Date.now(), tick));
      arm();
      fire(tick);
    }, Math.max(0, next - Date.now()));
    timer.unref();
  };
  arm();
  return {
    nextRunAt: () => (timer ? next : null),
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
