// Cluster mode's client rate limits (access token and upstream), shared by
// every instance in Redis: one Lua script per admitted request checks every
// limit the request falls under and takes from all of them or from none, as
// the in-memory limiter does, timed by Redis's clock. Request windows are a
// sliding log (a sorted set of admission times) up to LOG_MAX requests and a
// GCRA above, like windows.ts; a concurrency slot is a member of a sorted set
// scored by its expiry, so a crashed instance's slots free themselves; tokens
// are per-second buckets of the last minute.
//
// While Redis is degraded, or when a command fails (at most the connection's
// 250 ms timeout), the in-memory counters decide alone: each instance then
// admits up to the whole limit on its own traffic, so the cluster may
// over-admit during the outage. Admissions by Redis are also taken from the
// in-memory counters, which keeps them warm for that fallback and gives the
// X-RateLimit-* headers (this instance's view).

import type { Redis } from 'ioredis';
import type { RedisHealth } from '../cluster/redis.ts';
import type { Logger } from '../logger.ts';
import { CONCURRENCY_RETRY_MS, type Blocked, type LimitCounter, type LimitKind } from './limit-counter.ts';
import type { RateLimiter } from './limiter.ts';
import type { RateLimits } from './rate-limits.ts';

export const LOG_MAX = 4096;
/** Beyond this many slots waiting to be given back, the rest free themselves at their expiry. */
const MAX_UNRELEASED = 100_000;

// KEYS per limit: window, slots, tokens. ARGV: ticket, slot TTL, then per limit: requests, windowMs, concurrent, tokensPerMinute (-1: none).
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket, ttl = ARGV[1], tonumber(ARGV[2])
local n = #KEYS / 3
for i = 1, n do
  local win, slots, tok = KEYS[i*3-2], KEYS[i*3-1], KEYS[i*3]
  local req, ms, conc, tpm = tonumber(ARGV[i*4-1]), tonumber(ARGV[i*4]), tonumber(ARGV[i*4+1]), tonumber(ARGV[i*4+2])
  if conc >= 0 then
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    if redis.call('ZCARD', slots) >= conc then return {i, 1, now + ${CONCURRENCY_RETRY_MS}} end
  end
  if req >= 0 then
    if req <= ${LOG_MAX} then
      redis.call('ZREMRANGEBYSCORE', win, '-inf', now - ms)
      if redis.call('ZCARD', win) >= req then
        local oldest = redis.call('ZRANGE', win, 0, 0, 'WITHSCORES')
        return {i, 0, tonumber(oldest[2]) + ms}
      end
    else
      local tat = math.max(tonumber(redis.call('GET', win) or '0'), now)
      local room = tat - ms + ms / req
      if room > now then return {i, 0, math.ceil(room)} end
    end
  end
  if tpm >= 0 then
    local second, used = math.floor(now / 1000), 0
    local buckets = redis.call('HGETALL', tok)
    for j = 1, #buckets, 2 do
      if tonumber(buckets[j]) <= second - 60 then redis.call('HDEL', tok, buckets[j]) else used = used + tonumber(buckets[j+1]) end
    end
    if used >= tpm then return {i, 2, (second + 1) * 1000} end
  end
end
for i = 1, n do
  local win, slots = KEYS[i*3-2], KEYS[i*3-1]
  local req, ms, conc = tonumber(ARGV[i*4-1]), tonumber(ARGV[i*4]), tonumber(ARGV[i*4+1])
  if conc >= 0 then
    redis.call('ZADD', slots, now + ttl, ticket)
    redis.call('PEXPIRE', slots, ttl)
  end
  if req >= 0 then
    if req <= ${LOG_MAX} then
      redis.call('ZADD', win, now, ticket)
      redis.call('PEXPIRE', win, ms)
    else
      local tat = math.max(tonumber(redis.call('GET', win) or '0'), now)
      redis.call('SET', win, tat + ms / req, 'PX', ms)
    end
  end
end
return {0}
`;

/** A limit's Redis keys: its request window, its concurrency slots, its token buckets. */
export function limitKeys(prefix: string, ruleId: string): [string, string, string] {
  const base = `${prefix}limit:{${ruleId}}`;
  return [`${base}:w`, `${base}:c`, `${base}:t`];
}

const KINDS: LimitKind[] = ['requests', 'concurrent', 'tokensPerMinute'];
type Admit = (...args: (string | number)[]) => Promise<number[]>;

export interface SharedRateLimiter extends RateLimiter {
  /** A Redis answer refused a request that the in-memory counters would have let through (counted for tests and metrics). */
  readonly sharedRefusals: number;
}

export function createRedisRateLimiter(opts: { redis: Redis; prefix: string; health: RedisHealth; local: RateLimits; log: Logger; slotTtlMs?: number }): SharedRateLimiter {
  const { redis, prefix, health, local, log } = opts;
  redis.defineCommand('keyrelayAdmit', { lua: ADMIT });
  const admitScript = (redis as unknown as { keyrelayAdmit: Admit }).keyrelayAdmit.bind(redis);
  const slotTtl = opts.slotTtlMs ?? 10 * 60_000;
  const names = (c: LimitCounter) => limitKeys(prefix, c.rule.id);
  let refusals = 0;
  const slots = slotReturner(redis, health);

  const viaRedis = async (limits: readonly LimitCounter[], now: number, ticket: string): Promise<Blocked | null> => {
    const keys: string[] = [];
    const args: (string | number)[] = [ticket, slotTtl];
    for (const c of limits) {
      const r = c.rule;
      keys.push(...names(c));
      args.push(r.requests ?? -1, (r.perSeconds ?? 1) * 1000, r.concurrent ?? -1, r.tokensPerMinute ?? -1);
    }
    let answer: number[];
    try {
      answer = await admitScript(keys.length, ...keys, ...args);
    } catch (error) {
      log.debug({ err: error }, 'shared rate limit check failed; counted locally');
      return local.admit(limits, now);
    }
    if (answer[0] !== 0) {
      refusals++;
      return { counter: limits[answer[0] - 1], kind: KINDS[answer[1]], retryAt: answer[2] };
    }
    for (const c of limits) c.take(now);
    return null;
  };

  return {
    get sharedRefusals() {
      return refusals;
    },
    admit(limits, now, ticket) {
      if (health.state !== 'ok' || ticket === undefined) return local.admit(limits, now);
      return viaRedis(limits, now, ticket);
    },
    release(limits, ticket) {
      local.release(limits);
      if (ticket === undefined) return;
      const pairs: Array<[string, string]> = [];
      for (const c of limits) if (c.rule.concurrent !== null) pairs.push([names(c)[1], ticket]);
      if (pairs.length > 0) slots.giveBack(pairs);
    },
    charge(limits, now, tokens) {
      local.charge(limits, now, tokens);
      if (!(tokens > 0) || health.state !== 'ok') return;
      const second = String(Math.floor(now / 1000));
      const batch = redis.multi();
      for (const c of limits) {
        if (c.rule.tokensPerMinute === null) continue;
        const key = names(c)[2];
        batch.hincrby(key, second, Math.round(tokens));
        batch.pexpire(key, 61_000);
      }
      batch.exec().catch(() => {});
    },
  };
}

/**
 * Gives concurrency slots back. A give-back that fails or falls in an outage
 * (Redis went away mid-request) is kept and sent once Redis answers again, so
 * the slot does not hold the limit until it expires.
 */
function slotReturner(redis: Redis, health: RedisHealth): { giveBack(pairs: Array<[string, string]>): void } {
  let unreleased: Array<[string, string]> = [];
  const keep = (pairs: Array<[string, string]>) => {
    if (unreleased.length + pairs.length <= MAX_UNRELEASED) unreleased.push(...pairs);
  };
  const send = (pairs: Array<[string, string]>) => {
    const batch = redis.multi();
    for (const [key, ticket] of pairs) batch.zrem(key, ticket);
    batch.exec().catch(() => keep(pairs));
  };
  health.onChange((state) => {
    if (state !== 'ok' || unreleased.length === 0) return;
    const pairs = unreleased;
    unreleased = [];
    send(pairs);
  });
  return {
    giveBack(pairs) {
      if (health.state === 'ok') send(pairs);
      else keep(pairs);
    },
  };
}
