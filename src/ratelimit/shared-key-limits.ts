// Cluster mode's key limits, shared as closely as a pick allows. A key's
// limit is asked for every candidate key at pick time, synchronously, where
// no Redis round trip fits; so each instance records the requests it sends
// with a key in Redis (one script, not awaited) and learns from the answer
// when the cluster's count leaves the key room again, which its key gate
// then honours beside its own counters. Not exact: keys picked on several
// instances within one round trip of each other may overshoot a key's
// request window by those few requests (a shared client limit, by contrast,
// is exact). Concurrency stays per instance (a slot's end is not known to
// the others without another round trip per request). While Redis is
// degraded only the local counters count.

import type { Redis } from 'ioredis';
import type { RedisHealth } from '../cluster/redis.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { LimitCounter } from './limit-counter.ts';
import { LOG_MAX, limitKeys } from './redis-limiter.ts';

// KEYS per limit: window, tokens. ARGV: member, then per limit: requests, windowMs, tokensPerMinute (-1: none).
// Returns {ms from Redis's now until the key has room (0: now), Redis's now}.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local room = 0
for i = 1, #KEYS / 2 do
  local win, tok = KEYS[i*2-1], KEYS[i*2]
  local req, ms, tpm = tonumber(ARGV[i*3-1]), tonumber(ARGV[i*3]), tonumber(ARGV[i*3+1])
  if req > 0 then
    if req <= ${LOG_MAX} then
      redis.call('ZREMRANGEBYSCORE', win, '-inf', now - ms)
      redis.call('ZADD', win, now, ARGV[1])
      redis.call('PEXPIRE', win, ms)
      local count = redis.call('ZCARD', win)
      if count >= req then
        local oldest = redis.call('ZRANGE', win, count - req, count - req, 'WITHSCORES')
        room = math.max(room, tonumber(oldest[2]) + ms - now)
      end
    else
      local tat = math.max(tonumber(redis.call('GET', win) or '0'), now) + ms / req
      redis.call('SET', win, tat, 'PX', ms)
      room = math.max(room, tat - ms + ms / req - now)
    end
  end
  if tpm >= 0 then
    local second, used = math.floor(now / 1000), 0
    local buckets = redis.call('HGETALL', tok)
    for j = 1, #buckets, 2 do
      if tonumber(buckets[j]) > second - 60 then used = used + tonumber(buckets[j+1]) end
    end
    if used >= tpm then room = math.max(room, 1000) end
  end
end
return {math.ceil(room), now}
`;

/** Keys whose cluster-wide room time is remembered at most (the oldest are forgotten first). */
const MAX_KEYS = 100_000;

export class SharedKeyLimits {
  private readonly roomAt = new Map<string, number>();
  private readonly take: (...args: (string | number)[]) => Promise<[number, number]>;
  private seq = 0;

  constructor(private readonly opts: { redis: Redis; prefix: string; health: RedisHealth; instanceId: string }) {
    opts.redis.defineCommand('keyrelayKeyTake', { lua: TAKE });
    const redis = opts.redis as unknown as { keyrelayKeyTake: (...args: (string | number)[]) => Promise<[number, number]> };
    this.take = redis.keyrelayKeyTake.bind(opts.redis);
  }

  /** A request was sent with this key: counted in Redis; the answer says when the key has room again. */
  sent(key: ApiKeyState, limits: readonly LimitCounter[]): void {
    if (this.opts.health.state !== 'ok') return;
    const keys: string[] = [];
    const args: (string | number)[] = [`${this.opts.instanceId}:${++this.seq}`];
    for (const c of limits) {
      const r = c.rule;
      if (r.requests === null && r.tokensPerMinute === null) continue;
      const [win, , tok] = limitKeys(this.opts.prefix, r.id);
      keys.push(win, tok);
      args.push(r.requests ?? -1, (r.perSeconds ?? 1) * 1000, r.tokensPerMinute ?? -1);
    }
    if (keys.length === 0) return;
    this.take(keys.length, ...keys, ...args)
      .then(([wait]) => {
        if (wait <= 0) return void this.roomAt.delete(key.id);
        if (this.roomAt.size >= MAX_KEYS) this.roomAt.delete(this.roomAt.keys().next().value!);
        // Redis's clock measured the wait; this instance's clock places it.
        this.roomAt.set(key.id, Date.now() + wait);
      })
      .catch(() => {});
  }

  /** Epoch ms when the cluster's count leaves the key room; 0 when nothing holds it. */
  roomAtFor(keyId: string, now: number): number {
    const at = this.roomAt.get(keyId);
    if (at === undefined) return 0;
    if (at <= now) this.roomAt.delete(keyId);
    return at;
  }
}
