import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/proxy/retry-budget.ts';

describe('RetryBudget', () => {
  it('allows minConcurrency retries however few requests are active', () => {
    const budget = new RetryBudget({ percent: 20, minConcurrency: 3 });
    budget.requestStarted();
    expect([1, 2, 3, 4].map(() => budget.tryAcquireRetry())).toEqual([true, true, true, false]);
    expect(budget.overflow).toBe(1);
    expect(budget.retrying).toBe(3);
    budget.releaseRetry();
    expect(budget.tryAcquireRetry()).toBe(true);
  });

  it('scales with percent of active requests', () => {
    const budget = new RetryBudget({ percent: 20, minConcurrency: 3 });
    for (let i = 0; i < 100; i++) budget.requestStarted();
    expect(budget.active).toBe(100);
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    expect(granted).toBe(20);
    expect(budget.overflow).toBe(1);
    // 29 active: floor(5.8) = 5 < 20 in flight, so no new retries until they drain.
    for (let i = 0; i < 71; i++) budget.requestFinished();
    expect(budget.tryAcquireRetry()).toBe(false);
    for (let i = 0; i < 16; i++) budget.releaseRetry();
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
  });

  it('with percent 0 only the floor applies, and counters never go negative', () => {
    const budget = new RetryBudget({ percent: 0, minConcurrency: 0 });
    budget.requestStarted();
    expect(budget.tryAcquireRetry()).toBe(false);
    budget.releaseRetry();
    budget.requestFinished();
    budget.requestFinished();
    expect(budget.active).toBe(0);
    expect(budget.retrying).toBe(0);
  });

  it('rejects nonsense options', () => {
    expect(() => new RetryBudget({ percent: 150 })).toThrow(RangeError);
    expect(() => new RetryBudget({ minConcurrency: -1 })).toThrow(RangeError);
  });
});
