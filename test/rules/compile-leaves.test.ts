import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../src/rules/compile.ts';
import { contextOf, jsonContext } from './sample.ts';

const test = (condition: unknown, ctx: ReturnType<typeof contextOf>): boolean => compileCondition(condition).test(ctx);

describe('status', () => {
  it('equals, in, and inclusive min/max', () => {
    expect(test({ status: { equals: 429 } }, contextOf({ status: 429 }))).toBe(true);
    expect(test({ status: { equals: 429 } }, contextOf({ status: 430 }))).toBe(false);
    expect(test({ status: { in: [401, 403] } }, contextOf({ status: 403 }))).toBe(true);
    expect(test({ status: { in: [401, 403] } }, contextOf({ status: 402 }))).toBe(false);
    const range = { status: { min: 500, max: 503 } };
    expect([499, 500, 503, 504].map((status) => test(range, contextOf({ status })))).toEqual([false, true, true, false]);
  });

  it('requires every given comparator', () => {
    const condition = { status: { min: 400, in: [404, 500] } };
    expect(test(condition, contextOf({ status: 404 }))).toBe(true);
    expect(test(condition, contextOf({ status: 400 }))).toBe(false);
  });
});

describe('latencyMs', () => {
  it('gt and lt are strict', () => {
    const slow = { latencyMs: { gt: 1000 } };
    expect(test(slow, contextOf({ latencyMs: 1000 }))).toBe(false);
    expect(test(slow, contextOf({ latencyMs: 1001 }))).toBe(true);
    const band = { latencyMs: { gt: 10, lt: 20 } };
    expect([10, 15, 20].map((latencyMs) => test(band, contextOf({ latencyMs })))).toEqual([false, true, false]);
  });
});

describe('header', () => {
  const headers = { 'x-ratelimit-remaining': '0', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'application/json' };

  it('matches names case-insensitively', () => {
    expect(test({ header: { name: 'X-RateLimit-Remaining', equals: '0' } }, contextOf({ headers }))).toBe(true);
    expect(test({ header: { name: 'x-ratelimit-remaining', equals: '1' } }, contextOf({ headers }))).toBe(false);
    const mixedCase = contextOf({ headers: { 'Retry-After': '5' } });
    expect(test({ header: { name: 'retry-after', exists: true } }, mixedCase)).toBe(true);
  });

  it('joins multi-valued headers with ", "', () => {
    expect(test({ header: { name: 'set-cookie', equals: 'a=1, b=2' } }, contextOf({ headers }))).toBe(true);
  });

  it('contains, regex and exists', () => {
    expect(test({ header: { name: 'content-type', contains: 'json' } }, contextOf({ headers }))).toBe(true);
    expect(test({ header: { name: 'content-type', contains: 'xml' } }, contextOf({ headers }))).toBe(false);
    expect(test({ header: { name: 'content-type', regex: '^application/' } }, contextOf({ headers }))).toBe(true);
    expect(test({ header: { name: 'content-type', regex: '^text/' } }, contextOf({ headers }))).toBe(false);
    expect(test({ header: { name: 'retry-after', exists: false } }, contextOf({ headers }))).toBe(true);
    expect(test({ header: { name: 'retry-after', exists: true } }, contextOf({ headers }))).toBe(false);
    expect(test({ header: { name: 'retry-after', contains: '1' } }, contextOf({ headers }))).toBe(false);
  });
});

describe('body', () => {
  const body = 'Error: Quota Exceeded for key (a+b)';

  it('contains is a plain, case-sensitive substring unless ignoreCase', () => {
    expect(test({ body: { contains: 'Quota Exceeded' } }, contextOf({ body }))).toBe(true);
    expect(test({ body: { contains: 'quota exceeded' } }, contextOf({ body }))).toBe(false);
    expect(test({ body: { contains: 'quota exceeded', ignoreCase: true } }, contextOf({ body }))).toBe(true);
    // Not a regex: the parentheses and plus are literal.
    expect(test({ body: { contains: '(a+b)' } }, contextOf({ body }))).toBe(true);
  });

  it('regex honours ignoreCase', () => {
    expect(test({ body: { regex: 'quota\\s+exceeded' } }, contextOf({ body }))).toBe(false);
    expect(test({ body: { regex: 'quota\\s+exceeded', ignoreCase: true } }, contextOf({ body }))).toBe(true);
    expect(test({ body: { regex: '^Error: \\w+' } }, contextOf({ body }))).toBe(true);
  });

  it('requires both contains and regex when both are given', () => {
    expect(test({ body: { contains: 'Quota', regex: 'nothing-here' } }, contextOf({ body }))).toBe(false);
  });

  it('never matches a body that was not captured', () => {
    expect(test({ body: { regex: '.*' } }, contextOf({ body: null }))).toBe(false);
  });
});

describe('jsonPath', () => {
  const doc = {
    error: { code: 'insufficient_quota', type: 'requests', retry: 12, flags: [true] },
    choices: [{ finish_reason: 'stop' }, { finish_reason: 'length' }],
    data: null,
  };

  it('exists true/false (null counts as absent)', () => {
    expect(test({ jsonPath: { path: '$.error', exists: true } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.missing', exists: true } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.missing', exists: false } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error', exists: false } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.data', exists: true } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.error', exists: true } }, jsonContext({ error: null, id: 'ok' }))).toBe(false);
  });

  it('equals deep-equals a scalar, including null', () => {
    expect(test({ jsonPath: { path: '$.error.code', equals: 'insufficient_quota' } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error.code', equals: 'other' } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.error.retry', equals: '12' } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.data', equals: null } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error.flags[0]', equals: true } }, jsonContext(doc))).toBe(true);
  });

  it('in', () => {
    expect(test({ jsonPath: { path: '$.error.code', in: ['a', 'insufficient_quota'] } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error.code', in: ['a', 'b'] } }, jsonContext(doc))).toBe(false);
  });

  it('gt/lt compare numbers only', () => {
    expect(test({ jsonPath: { path: '$.error.retry', gt: 10, lt: 13 } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error.retry', gt: 12 } }, jsonContext(doc))).toBe(false);
    expect(test({ jsonPath: { path: '$.v', lt: 5 } }, jsonContext({ v: '1' }))).toBe(false);
  });

  it('regex applies to string values', () => {
    expect(test({ jsonPath: { path: '$.error.code', regex: '^insufficient_' } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$.error.retry', regex: '12' } }, jsonContext(doc))).toBe(false);
  });

  it('holds when any of several matched values satisfies all comparators', () => {
    expect(test({ jsonPath: { path: '$.choices[*].finish_reason', equals: 'length' } }, jsonContext(doc))).toBe(true);
    expect(test({ jsonPath: { path: '$..finish_reason', in: ['content_filter'] } }, jsonContext(doc))).toBe(false);
    // One value must satisfy both: 5 is > 1 but not < 3, and 0 is < 3 but not > 1.
    const values = jsonContext({ v: [5, 0] });
    expect(test({ jsonPath: { path: '$.v[*]', gt: 1, lt: 3 } }, values)).toBe(false);
    expect(test({ jsonPath: { path: '$.v[*]', gt: 1, lt: 6 } }, values)).toBe(true);
  });

  it('does not match bodies that are not JSON', () => {
    expect(test({ jsonPath: { path: '$.error', exists: true } }, contextOf({ body: '<html>error</html>' }))).toBe(false);
  });
});
