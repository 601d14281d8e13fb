// The Lua scripts behind shared rule firing and shared rate limits, against
// the machine's Redis, each test under its own key prefix.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisHealth } from '../../../src/cluster/redis.ts';
import { createLogger } from '../../../src/logger.ts';
import { createRedisRateLimiter } from '../../../src/ratelimit/redis-limiter.ts';
import { RateLimits } from '../../../src/ratelimit/rate-limits.ts';
import type { RateLimitRule } from '../../../src/ratelimit/limit-counter.ts';
import { createSharedRuleTracker } from '../../../src/rules/shared-rule-tracker.ts';
import { SharedKeyLimits } from '../../../src/ratelimit/shared-key-limits.ts';
import { REDIS_URL } from '../../support/redis.ts';

const log = createLogger('silent');
const healthy: RedisHealth = { state: 'ok', onChange: () => () => {} };

describe('shared counting scripts on Redis', () => {
  let redis: Redis;
  let prefix: string;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await redis.keys('keyrelay:test-scripts-*');
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  const fresh = () => (prefix = `keyrelay:test-scripts-${randomUUID()}:`);

  const trackers = (n: number) => Array.from({ length: n }, (_, i) => createSharedRuleTracker({ redis, prefix, health: healthy, instanceId: `i${i}`, log }));
  const rule = (over: Partial<{ threshold: number; windowSeconds: number; consecutive: boolean; cooldownSeconds: number }> = {}) => ({ id: 'r1', threshold: 3, windowSeconds: 60, consecutive: false, cooldownSeconds: 60, ...over });

  async function observeAll(list: ReturnType<typeof trackers>, r: ReturnType<typeof rule>, matches: boolean[]): Promise<number> {
    let fired = 0;
    await Promise.all(
      matches.map(
        (matched, i) =>
          new Promise<void>((resolve) => {
            list[i % list.length].observe(r, 'key1', matched, () => fired++);
            // The answer lands within the command; give it a moment.
            setTimeout(resolve, 100);
          }),
      ),
    );
    return fired;
  }

  it('three matches over three instances fire a threshold-3 rule exactly once, and the cooldown holds the next ones', async () => {
    fresh();
    const list = trackers(3);
    expect(await observeAll(list, rule(), [true, true])).toBe(0);
    expect(await observeAll(list, rule(), [true])).toBe(1);
    expect(await observeAll(list, rule(), [true, true, true, true])).toBe(0);
  });

  it('nine concurrent matches without a cooldown fire exactly three times', async () => {
    fresh();
    expect(await observeAll(trackers(3), rule({ cooldownSeconds: 0 }), Array(9).fill(true))).toBe(3);
  });

  it('a success on the instance that counted a streak ends it', async () => {
    fresh();
    const [a, b] = trackers(2);
    const r = rule({ consecutive: true, cooldownSeconds: 0 });
    expect(await observeAll([a, b], r, [true, true])).toBe(0);
    a.observe(r, 'key1', false, () => {});
    await new Promise((res) => setTimeout(res, 100));
    expect(await observeAll([a, b], r, [true, true])).toBe(0);
    expect(await observeAll([a, b], r, [true])).toBe(1);
  });

  const limiter = (rules: RateLimitRule[]) => {
    const local = new RateLimits(null as never);
    local.install(rules);
    return { local, shared: createRedisRateLimiter({ redis, prefix, health: healthy, local, log }) };
  };
  const limitRule = (over: Partial<RateLimitRule>): RateLimitRule => ({ id: 'l1', scope: 'UPSTREAM', targetId: 'u', requests: null, perSeconds: null, concurrent: null, tokensPerMinute: null, ...over });

  it('a request window shared by two instances admits exactly its limit, and takes from every limit or none', async () => {
    fresh();
    const rules = [limitRule({ requests: 5, perSeconds: 60 }), limitRule({ id: 'l2', requests: 100, perSeconds: 60 })];
    const [x, y] = [limiter(rules), limiter(rules)];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => { const l = i % 2 ? x : y; return l.shared.admit(l.local.limitsFor('UPSTREAM', 'u'), Date.now(), `t${i}`); }));
    expect(results.filter((r) => r === null)).toHaveLength(5);
    const blocked = results.find((r) => r !== null)!;
    expect(blocked).toMatchObject({ kind: 'requests' });
    expect(blocked!.counter.rule.id).toBe('l1');
    // The refused requests took nothing from the second limit.
    const count = await redis.zcard(`${prefix}limit:{l2}:w`);
    expect(count).toBe(5);
  });

  it('concurrency slots are shared, given back by ticket, and expire when their holder is gone', async () => {
    fresh();
    const rules = [limitRule({ concurrent: 2 })];
    const x = limiter(rules);
    const held = x.local.limitsFor('UPSTREAM', 'u');
    expect(await x.shared.admit(held, Date.now(), 'a')).toBeNull();
    expect(await x.shared.admit(held, Date.now(), 'b')).toBeNull();
    expect(await x.shared.admit(held, Date.now(), 'c')).toMatchObject({ kind: 'concurrent' });
    x.shared.release(held, 'a');
    await expect.poll(() => redis.zcard(`${prefix}limit:{l1}:c`)).toBe(1);
    expect(await x.shared.admit(held, Date.now(), 'c')).toBeNull();

    const short = createRedisRateLimiter({ redis, prefix: fresh(), health: healthy, local: x.local, log, slotTtlMs: 200 });
    expect(await short.admit(held, Date.now(), 'gone-1')).toBeNull();
    expect(await short.admit(held, Date.now(), 'gone-2')).toBeNull();
    expect(await short.admit(held, Date.now(), 'next')).toMatchObject({ kind: 'concurrent' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await short.admit(held, Date.now(), 'next')).toBeNull();
  });

  it('a slot whose give-back came while Redis was out is given back once it answers again', async () => {
    fresh();
    const listeners: Array<(s: 'ok' | 'degraded') => void> = [];
    const health = { state: 'ok' as 'ok' | 'degraded', onChange: (l: (s: 'ok' | 'degraded') => void) => (listeners.push(l), () => {}) };
    const local = new RateLimits(null as never);
    local.install([limitRule({ concurrent: 1 })]);
    const shared = createRedisRateLimiter({ redis, prefix, health, local, log });
    const held = local.limitsFor('UPSTREAM', 'u');
    expect(await shared.admit(held, Date.now(), 'a')).toBeNull();
    health.state = 'degraded';
    shared.release(held, 'a');
    expect(await redis.zcard(`${prefix}limit:{l1}:c`)).toBe(1);
    health.state = 'ok';
    for (const l of listeners) l('ok');
    await expect.poll(() => redis.zcard(`${prefix}limit:{l1}:c`)).toBe(0);
  });

  it('a key limit: what other instances sent with the key holds it back here, though this instance alone sent fewer', async () => {
    fresh();
    const rules = [limitRule({ id: 'k1', scope: 'KEY', targetId: 'key1', requests: 5, perSeconds: 60 })];
    const make = (id: string) => {
      const local = new RateLimits(null as never);
      local.install(rules);
      local.sharedKeys = new SharedKeyLimits({ redis, prefix, health: healthy, instanceId: id });
      return local;
    };
    const [x, y] = [make('x'), make('y')];
    const key = { id: 'key1' } as never;
    for (let i = 0; i < 3; i++) x.keySent(key);
    for (let i = 0; i < 2; i++) y.keySent(key);
    // x sent 3 of 5 (room by its own count); the cluster sent 5: once the answers land, x holds the key back too.
    await expect.poll(() => y.keyRoomAt(key, Date.now()) > Date.now()).toBe(true);
    for (let i = 0; i < 1; i++) x.keySent(key);
    await expect.poll(() => x.keyRoomAt(key, Date.now()) > Date.now()).toBe(true);
    expect(x.limitsFor('KEY', 'key1')[0].roomAt(Date.now())).toBeLessThanOrEqual(Date.now());
    expect(await redis.zcard(`${prefix}limit:{k1}:w`)).toBe(6);
  });

  it('degraded, the local counters decide without touching Redis', async () => {
    fresh();
    const local = new RateLimits(null as never);
    local.install([limitRule({ requests: 1, perSeconds: 60 })]);
    const down = createRedisRateLimiter({ redis, prefix, health: { state: 'degraded', onChange: () => () => {} }, local, log });
    const held = local.limitsFor('UPSTREAM', 'u');
    expect(down.admit(held, Date.now(), 'a')).toBeNull();
    expect(down.admit(held, Date.now(), 'b')).toMatchObject({ kind: 'requests' });
    expect(await redis.exists(`${prefix}limit:{l1}:w`)).toBe(0);
  });
});
