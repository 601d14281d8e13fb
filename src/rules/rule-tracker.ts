import type { RuleDefinition } from '../state/types.ts';

export type TrackedRule = Pick<RuleDefinition, 'id' | 'threshold' | 'windowSeconds' | 'consecutive' | 'cooldownSeconds'>;

export interface RuleTrackerOptions {
  now?: () => number;
  /** Hard cap on tracked (rule, subject) pairs; the least recently active are evicted. */
  maxEntries?: number;
}

export interface RuleTracker {
  /** Records one response for `subject` (`keyId` or `keyId|model`); true when the rule fires now. */
  observe(rule: TrackedRule, subject: string, matched: boolean, now?: number): boolean;
  /** Drops all state of a key (both `keyId` and `keyId|model` subjects). */
  forget(keyId: string): void;
  /** Drops entries with nothing left to remember. */
  prune(now?: number): void;
  readonly size: number;
}

interface Entry {
  subject: string;
  /** Match timestamps inside the window (window mode); at most `threshold` of them. */
  hits: number[];
  /** Matches in a row (consecutive mode). */
  streak: number;
  lastMatchAt: number;
  cooldownUntil: number;
  windowMs: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
// A full sweep after at least as many observations as there are entries keeps
// expired entries from piling up at O(1) amortised cost per call.
const MIN_SWEEP_INTERVAL = 1024;

function isIdle(entry: Entry, now: number): boolean {
  if (entry.cooldownUntil > now) return false;
  if (entry.hits.length > 0) return entry.hits[entry.hits.length - 1] <= now - entry.windowMs;
  // A streak stays meaningful for windowSeconds of silence (0: until a success resets it).
  if (entry.streak > 0) return entry.windowMs > 0 && entry.lastMatchAt <= now - entry.windowMs;
  return true;
}

// size: longer because it is a factory of short closures over one shared state; each closure stays small.
export function createRuleTracker(options: RuleTrackerOptions = {}): RuleTracker {
  const clock = options.now ?? Date.now;
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  // Map keeps insertion order; re-inserting on each touch makes the first entry the least recently active.
  const entries = new Map<string, Entry>();
  let sinceSweep = 0;

  const prune = (now = clock()): void => {
    for (const [key, entry] of entries) if (isIdle(entry, now)) entries.delete(key);
  };

  const touch = (key: string, entry: Entry): void => {
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
  };

  const fire = (key: string, entry: Entry, rule: TrackedRule, now: number): true => {
    entry.hits = [];
    entry.streak = 0;
    entry.cooldownUntil = now + Math.max(0, rule.cooldownSeconds) * 1000;
    if (entry.cooldownUntil > now) touch(key, entry);
    else entries.delete(key);
    return true;
  };

  const observe = (rule: TrackedRule, subject: string, matched: boolean, now = clock()): boolean => {
    if (++sinceSweep >= Math.max(MIN_SWEEP_INTERVAL, entries.size)) {
      sinceSweep = 0;
      prune(now);
    }
    const key = `${rule.id}\u0000${subject}`;
    const windowMs = Math.max(0, rule.windowSeconds) * 1000;
    let entry = entries.get(key);
    if (entry && isIdle(entry, now)) {
      entries.delete(key);
      entry = undefined;
    }

    if (!matched) {
      if (entry && rule.consecutive && entry.streak > 0) {
        entry.streak = 0;
        if (isIdle(entry, now)) entries.delete(key);
      }
      return false;
    }
    entry ??= { subject, hits: [], streak: 0, lastMatchAt: now, cooldownUntil: 0, windowMs };
    entry.windowMs = windowMs;
    // Matches during the cooldown are ignored, not counted towards the next firing.
    if (entry.cooldownUntil > now) return false;
    entry.lastMatchAt = now;

    const threshold = Math.max(1, Math.floor(rule.threshold));
    if (threshold === 1) return fire(key, entry, rule, now);
    if (rule.consecutive) {
      entry.streak += 1;
      if (entry.streak >= threshold) return fire(key, entry, rule, now);
    } else {
      entry.hits = entry.hits.filter((at) => at > now - windowMs);
      entry.hits.push(now);
      if (entry.hits.length > threshold) entry.hits.splice(0, entry.hits.length - threshold);
      if (entry.hits.length >= threshold) return fire(key, entry, rule, now);
    }
    touch(key, entry);
    return false;
  };

  const forget = (keyId: string): void => {
    const prefix = `${keyId}|`;
    for (const [key, entry] of entries) {
      if (entry.subject === keyId || entry.subject.startsWith(prefix)) entries.delete(key);
    }
  };

  return {
    observe,
    forget,
    prune,
    get size() {
      return entries.size;
    },
  };
}
