// Cluster mode's rule firing state, shared in Redis: three 429s spread over
// three instances fire a `threshold: 3` rule once. One Lua script per match
// counts it (a sliding window as a sorted set of match times, or a streak
// counter) and, when the count reaches the threshold, claims the firing and
// starts the cooldown in the same atomic step, so exactly one instance runs
// the rule's actions. Redis's clock times the windows, so instances' clocks
// need not agree.
//
// Nothing waits for it: a match is sent and the proxy goes on; the actions
// run when the answer comes (one round trip later), through the local
// lifecycle as always. Successes that end a consecutive streak are gathered
// and sent together every FLUSH_MS. While Redis is degraded (or a command
// fails) the local tracker decides, so a rule may fire once per instance
// during an outage.

import type { Redis } from 'ioredis';
import type { RedisHealth } from '../cluster/redis.ts';
import type { Logger } from '../logger.ts';
import { createRuleTracker, type RuleTracker, type TrackedRule } from './rule-tracker.ts';

const OBSERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local windowMs = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local cooldownMs = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local count
if ARGV[4] == '1' then
  count = redis.call('INCR', KEYS[1])
  -- A streak stays meaningful for the window's length of silence (0: until a success, kept a day at most).
  redis.call('PEXPIRE', KEYS[1], windowMs > 0 and windowMs or 86400000)
else
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], math.max(windowMs, 1000))
  count = redis.call('ZCARD', KEYS[1])
end
if count < threshold then return 0 end
redis.call('DEL', KEYS[1])
if cooldownMs > 0 then redis.call('SET', KEYS[2], '1', 'PX', cooldownMs) end
return 1
`;

/** Successes that reset streaks are sent together this often. */
const FLUSH_MS = 20;
const MAX_STREAKS = 100_000;

export interface SharedRuleTracker {
  /** Whether Redis decides now (else the caller uses its local tracker). */
  readonly active: boolean;
  /** Records one response; `fire` runs if (and only if) this instance claimed the firing. */
  observe(rule: TrackedRule, subject: string, matched: boolean, fire: () => void): void;
  /** Drops the shared state of a deleted key's subjects this instance knows (the rest expires). */
  forget(keyId: string): void;
  close(): void;
}

export function createSharedRuleTracker(opts: { redis: Redis; prefix: string; health: RedisHealth; instanceId: string; log: Logger; local?: RuleTracker }): SharedRuleTracker {
  const { redis, prefix, health, log } = opts;
  // For a command that fails while Redis still looks healthy (a timeout): that match is counted here.
  const local = opts.local ?? createRuleTracker();
  redis.defineCommand('keyrelayRuleObserve', { numberOfKeys: 2, lua: OBSERVE });
  const run = redis as unknown as { keyrelayRuleObserve(k1: string, k2: string, ...args: (string | number)[]): Promise<number> };
  const key = (rule: TrackedRule, subject: string) => `${prefix}rule:{${rule.id}:${subject}}`;
  // Consecutive subjects this instance counted a match for: only they have a streak a success must end.
  const streaks = new Set<string>();
  const resets = new Set<string>();
  let seq = 0;
  let timer: NodeJS.Timeout | null = null;

  const flush = () => {
    timer = null;
    if (resets.size === 0) return;
    const names = [...resets];
    resets.clear();
    redis.del(...names).catch(() => {});
  };

  const fallBack = (rule: TrackedRule, subject: string, matched: boolean, fire: () => void) => {
    if (local.observe(rule, subject, matched)) fire();
  };

  return {
    get active() {
      return health.state === 'ok';
    },
    observe(rule, subject, matched, fire) {
      const base = key(rule, subject);
      if (!matched) {
        if (!rule.consecutive || !streaks.delete(base)) return;
        resets.add(`${base}:n`);
        timer ??= setTimeout(flush, FLUSH_MS);
        return;
      }
      if (rule.consecutive) {
        // Bounded: forgetting a streak only means a success does not end it early; it still expires in Redis.
        if (streaks.size >= MAX_STREAKS) streaks.clear();
        streaks.add(base);
      }
      const threshold = Math.max(1, Math.floor(rule.threshold));
      const member = `${opts.instanceId}:${++seq}`;
      run
        .keyrelayRuleObserve(`${base}:n`, `${base}:cooldown`, Math.max(0, rule.windowSeconds) * 1000, threshold, Math.max(0, rule.cooldownSeconds) * 1000, rule.consecutive ? '1' : '0', member)
        .then((claimed) => {
          if (claimed === 1) fire();
        })
        .catch((error: unknown) => {
          log.debug({ err: error, ruleId: rule.id }, 'shared rule count failed; counted locally');
          fallBack(rule, subject, matched, fire);
        });
    },
    forget(keyId) {
      for (const name of streaks) if (name.includes(`:${keyId}}`) || name.includes(`:${keyId}|`)) streaks.delete(name);
    },
    close() {
      if (timer) clearTimeout(timer);
      flush();
    },
  };
}
