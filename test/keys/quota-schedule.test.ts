import { describe, expect, it } from 'vitest';
import { checkQuotaSchedule, nextQuotaResetAt } from '../../src/keys/quota-schedule.ts';

const NOW = Date.UTC(2030, 0, 15, 10, 30, 0);
const none = { quotaResetCron: null, quotaResetTimezone: null };

describe('nextQuotaResetAt', () => {
  it('uses the global schedule and time zone when the upstream has none', () => {
    expect(nextQuotaResetAt(none, '0 0 * * *', 'UTC', NOW)).toBe(Date.UTC(2030, 0, 16));
    // Gemini-style daily quotas reset at midnight Pacific time.
    expect(nextQuotaResetAt(none, '0 0 * * *', 'America/Los_Angeles', NOW)).toBe(Date.UTC(2030, 0, 16, 8));
  });

  it("prefers the upstream's own pattern and zone", () => {
    expect(nextQuotaResetAt({ quotaResetCron: '0 */6 * * *', quotaResetTimezone: null }, '0 0 * * *', 'UTC', NOW)).toBe(Date.UTC(2030, 0, 15, 12));
    expect(nextQuotaResetAt({ quotaResetCron: null, quotaResetTimezone: 'Asia/Tokyo' }, '0 0 * * *', 'UTC', NOW)).toBe(Date.UTC(2030, 0, 15, 15));
  });

  it('is strictly after now, also exactly on a reset', () => {
    expect(nextQuotaResetAt(none, '0 0 * * *', 'UTC', Date.UTC(2030, 0, 16))).toBe(Date.UTC(2030, 0, 17));
  });

  it('falls back to the global pattern when the upstream pattern is broken, and gives null when nothing parses', () => {
    expect(nextQuotaResetAt({ quotaResetCron: 'nonsense', quotaResetTimezone: null }, '0 0 * * *', 'UTC', NOW)).toBe(Date.UTC(2030, 0, 16));
    expect(nextQuotaResetAt(none, 'not a cron', 'UTC', NOW)).toBeNull();
  });
});

describe('checkQuotaSchedule', () => {
  it('accepts valid patterns and zones and names what is wrong otherwise', () => {
    expect(checkQuotaSchedule('0 0 * * *', 'Europe/Berlin')).toBeNull();
    expect(checkQuotaSchedule('0 0 * * *', 'Mars/Olympus')).toMatch(/time zone/);
    expect(checkQuotaSchedule('61 0 * * *', 'UTC')).toMatch(/cron/);
  });
});
