import { describe, expect, it } from 'vitest';
import { disableDurationMs } from '../../src/rules/escalation.ts';

describe('disableDurationMs', () => {
  const rule = { disableForSeconds: 60, escalate: true, maxDisableSeconds: 200 };

  it('doubles on the second disable, triples on the third, then caps', () => {
    expect([0, 1, 2, 3, 10].map((previous) => disableDurationMs(rule, previous))).toEqual([
      60_000, 120_000, 180_000, 200_000, 200_000,
    ]);
  });

  it('stays at the base duration without escalation', () => {
    expect(disableDurationMs({ ...rule, escalate: false }, 5)).toBe(60_000);
  });

  it('treats a zero cap as uncapped and a missing base as zero', () => {
    expect(disableDurationMs({ ...rule, maxDisableSeconds: 0 }, 9)).toBe(600_000);
    expect(disableDurationMs({ ...rule, disableForSeconds: null }, 3)).toBe(0);
  });
});
