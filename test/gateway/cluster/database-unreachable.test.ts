import { describe, expect, it } from 'vitest';
import { isDatabaseUnreachable } from '../../../src/db/unreachable.ts';

describe('isDatabaseUnreachable', () => {
  it('knows an outage from the driver, the pool and Prisma, also as a cause', () => {
    expect(isDatabaseUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnreachable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error('x'), { code: 'P1001' }))).toBe(true);
    const wrapped = new Error('Invalid `prisma.upstream.create()` invocation', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(isDatabaseUnreachable(wrapped)).toBe(true);
  });

  it('leaves errors about the query itself alone', () => {
    expect(isDatabaseUnreachable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnreachable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(false);
    expect(isDatabaseUnreachable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnreachable(null)).toBe(false);
  });
});
