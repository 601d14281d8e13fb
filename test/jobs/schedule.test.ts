import { describe, expect, it } from 'vitest';
import { workerMessageSchema } from '../../src/jobs/messages.ts';
import { ScheduleError, nextRunAfter, parseSchedule, startTrigger } from '../../src/jobs/schedule.ts';
import { workerRoot } from '../../src/jobs/worker-root.ts';

describe('job schedules', () => {
  it('reads cron expressions in a time zone, with or without seconds', () => {
    const daily = parseSchedule('0 0 * * *', 'America/Los_Angeles');
    expect(daily.kind).toBe('cron');
    // Midnight in Los Angeles on 26 Nov 2026 (PST, UTC-8) is 08:00 UTC.
    expect(new Date(nextRunAfter(daily, Date.parse('2026-11-26T03:00:00Z'))!).toISOString()).toBe('2026-11-26T08:00:00.000Z');
    const everySecond = parseSchedule('* * * * * *', 'UTC');
    expect(nextRunAfter(everySecond, Date.parse('2026-11-26T03:00:00.400Z'))).toBe(Date.parse('2026-11-26T03:00:01Z'));
  });

  it('reads fixed periods and off', () => {
    expect(parseSchedule('10m', 'UTC')).toMatchObject({ kind: 'every', everyMs: 600_000 });
    expect(nextRunAfter(parseSchedule('2h', 'UTC'), 1000)).toBe(1000 + 7_200_000);
    expect(nextRunAfter(parseSchedule('off', 'UTC'), 1000)).toBeNull();
  });

  it('rejects what it cannot run', () => {
    for (const bad of ['every tuesday', '61 0 * * *', '0 0 * *', '0s', '* * * * * * * *']) expect(() => parseSchedule(bad, 'UTC')).toThrow(ScheduleError);
    expect(() => parseSchedule('0 0 * * *', 'Mars/Olympus_Mons')).toThrow(/time zone/);
  });

  it('a trigger reports its next run and stops', () => {
    const trigger = startTrigger(parseSchedule('0 0 * * *', 'UTC'), () => {});
    const next = trigger.nextRunAt()!;
    expect(next).toBeGreaterThan(Date.now());
    expect(new Date(next).getUTCHours()).toBe(0);
    trigger.stop();
    const period = startTrigger(parseSchedule('5m', 'UTC'), () => {});
    expect(period.nextRunAt()! - Date.now()).toBeGreaterThan(299_000);
    period.stop();
    expect(period.nextRunAt()).toBeNull();
  });
});

describe('job plumbing', () => {
  it('workers run from the built folder, also when loaded from src', () => {
    expect(workerRoot(new URL('file:///app/src/jobs/job-service.ts').href)).toBe('/app/dist/jobs/workers');
    expect(workerRoot(new URL('file:///app/dist/jobs/job-service.js').href)).toBe('/app/dist/jobs/workers');
  });

  it('the main thread accepts only messages of the protocol', () => {
    expect(workerMessageSchema.safeParse({ type: 'done', counts: { deleted: 3 } }).success).toBe(true);
    expect(workerMessageSchema.safeParse({ type: 'done', counts: { deleted: { nested: 1 } } }).success).toBe(false);
    expect(workerMessageSchema.safeParse({ type: 'keys-changed', keys: [{ keyId: 'k', usedReset: true }], events: [{ keyId: 'k', to: 'ACTIVE' }] }).success).toBe(false);
    expect(workerMessageSchema.safeParse({ type: 'shell', command: 'rm' }).success).toBe(false);
  });
});
