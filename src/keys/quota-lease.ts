// Cluster mode's exact quotas: several instances spend one key's quota
// without a database call per request. Each instance leases the quota in
// blocks (a conditional update in PostgreSQL, quota-lease-sql.ts) and serves
// reservations from its block in memory, synchronously, exactly as a single
// instance does (`leaseLeft` on the key, charged and refunded by
// applyKeyChange). The sum of the blocks never exceeds the limit, so the total
// stays exact across instances.
//
// - Ahead of time: when a block runs low the next one is leased in the
//   background; the request that noticed does not wait. A key with an empty
//   block is not offered by its pool; a request that finds no key at all
//   waits for a lease in flight (acquireKey), at most until its deadline.
// - Block size: min(10% of the limit, 50), at least 1. Small enough that the
//   quota idle in other instances' blocks stays small (an instance holds at
//   most one block and a half), large enough that a busy key costs one
//   database write per 50 requests, not one per request.
// - Back: an idle block (no charge for IDLE_MS) and every block at shutdown
//   go back to the pool; a crashed instance's blocks come back when its
//   leases expire (renewed every RENEW_MS while it lives), swept by any
//   instance. A quota reset clears every lease with the count.
// - EXHAUSTED: an instance whose block is empty and whose lease is refused
//   marks the key EXHAUSTED only if no other instance still holds a live
//   lease on it (the last one does), so no block is stranded.

import type { SqlDriver } from '../db/sql-driver.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState, UpstreamRuntime } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { KeyLifecycle } from './lifecycle.ts';
import { createLeaseSql, type LeaseSql } from './quota-lease-sql.ts';

export const MAX_BLOCK = 50;
const TICK_MS = 1000;
const RENEW_MS = 10_000;
const LEASE_TTL_MS = 45_000;
const IDLE_MS = 30_000;
/** A refused key is asked again this often (units may come back from another instance). */
const REFUSED_RETRY_MS = 5000;
/** Leases asked at once by one tick (the start leases every limited key). */
const TICK_CONCURRENCY = 8;
/** The longest a request waits for a lease (see whenLeased). */
const LEASE_WAIT_MS = 1000;

export function blockSize(limit: number): number {
  return Math.max(1, Math.min(MAX_BLOCK, Math.ceil(limit / 10)));
}

interface Ledger {
  pending: Promise<void> | null;
  refusedAt: number;
  lastChargeAt: number;
  /** Given back while idle: leased again only when a request finds no key. */
  parked: boolean;
  /** Bumped by a reset: a lease answer from before it is void. */
  epoch: number;
}

export interface QuotaLeaseDeps {
  sql: SqlDriver;
  instanceId: string;
  state: GatewayState;
  lifecycle: Pick<KeyLifecycle, 'transition'>;
  log: Logger;
  now?: () => number;
}

export class QuotaLeases {
  private readonly ledgers = new Map<string, Ledger>();
  private readonly sql: LeaseSql;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private lastRenew = 0;
  private ticking = false;
  private stopped = false;

  constructor(private readonly deps: QuotaLeaseDeps) {
    this.sql = createLeaseSql(deps.sql, deps.instanceId);
    this.now = deps.now ?? Date.now;
  }

  /** Leases a first block for every limited key, then keeps blocks topped up, renewed and swept. */
  async start(): Promise<void> {
    this.lastRenew = this.now();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** A charge was taken from `key`'s block (QuotaGate.reserve): lease ahead when it runs low. Never waits. */
  charged(key: ApiKeyState): void {
    if (key.quotaLimit === null) return;
    const ledger = this.ledger(key.id);
    const now = (ledger.lastChargeAt = this.now());
    if (key.leaseLeft! > blockSize(key.quotaLimit) >> 1) return;
    // Refused lately: nothing is left to lease, so not one query per request; once the block is empty, ask (and maybe mark EXHAUSTED).
    if (key.leaseLeft! > 0 && now - ledger.refusedAt < REFUSED_RETRY_MS) return;
    void this.lease(key, ledger);
  }

  /** A quota reset of this key (UsageCounters.discardQuota): its block and any lease in flight belong to the old period. */
  reset(keyId: string): void {
    const ledger = this.ledgers.get(keyId);
    if (ledger) {
      ledger.epoch++;
      ledger.refusedAt = 0;
      ledger.parked = false;
    }
    const key = this.deps.state.keys.get(keyId);
    if (key?.leaseLeft) this.deps.state.apply(key, { type: 'leased', delta: -key.leaseLeft });
  }

  /**
   * The request found no key: leases for the upstream's keys with an empty
   * block; true when one settled, false when none did within `waitMs` (at
   * most LEASE_WAIT_MS: a database that slow is in trouble, and the request
   * is better answered than held); null when none can come (every such key
   * refused lately, or none at all).
   */
  whenLeased(upstream: UpstreamRuntime, waitMs: number): Promise<boolean> | null {
    const now = this.now();
    const waits: Promise<void>[] = [];
    for (const key of upstream.keys.values()) {
      if (!this.wantsBlock(key)) continue;
      const ledger = this.ledger(key.id);
      if (ledger.pending === null && now - ledger.refusedAt < REFUSED_RETRY_MS) continue;
      ledger.parked = false;
      waits.push(this.lease(key, ledger));
    }
    if (waits.length === 0 || waitMs <= 0) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.min(waitMs, LEASE_WAIT_MS), false)));
    return Promise.race([...waits.map((w) => w.then(() => true)), timeout]).finally(() => clearTimeout(timer));
  }

  /** Gives every block back (after the proxy drained, before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.ledgers.values()].map((l) => l.pending));
    const held = [...this.deps.state.keys.values()].filter((k) => k.leaseLeft !== null && k.leaseLeft > 0);
    for (const key of held) await this.giveBack(key).catch((error: unknown) => this.deps.log.warn({ err: error, keyId: key.id }, 'giving a quota block back failed; it returns when its lease expires'));
    await this.sql.dropAll().catch(() => {});
  }

  private ledger(keyId: string): Ledger {
    let ledger = this.ledgers.get(keyId);
    if (ledger === undefined) {
      ledger = { pending: null, refusedAt: 0, lastChargeAt: this.now(), parked: false, epoch: 0 };
      this.ledgers.set(keyId, ledger);
    }
    return ledger;
  }

  private wantsBlock(key: ApiKeyState): boolean {
    return key.quotaLimit !== null && key.status === 'ACTIVE' && key.leaseLeft !== null && key.leaseLeft <= 0;
  }

  private lease(key: ApiKeyState, ledger: Ledger): Promise<void> {
    if (ledger.pending !== null) return ledger.pending;
    if (this.stopped || key.quotaLimit === null || key.status !== 'ACTIVE') return Promise.resolve();
    const epoch = ledger.epoch;
    ledger.pending = this.sql
      .grant(key.id, blockSize(key.quotaLimit), Math.max(0, key.leaseLeft ?? 0), this.now() + LEASE_TTL_MS)
      .then(async (granted) => {
        // A reset (or a deleted key) since: the block belongs to a period that is over. Granted after the
        // reset cleared the leases, its units go back; granted before, the reset took the row and this is a no-op.
        if (ledger.epoch !== epoch || !this.deps.state.keys.has(key.id)) {
          if (granted > 0) await this.sql.giveBack(key.id, granted);
          return;
        }
        if (granted > 0) {
          ledger.refusedAt = 0;
          return this.deps.state.apply(key, { type: 'leased', delta: granted });
        }
        ledger.refusedAt = this.now();
        if (key.leaseLeft! <= 0 && key.status === 'ACTIVE' && (await this.sql.releaseLast(key.id, this.now()))) this.exhausted(key);
      })
      .catch((error: unknown) => {
        // The database is out: this instance serves what its block holds, then the key waits for the database.
        ledger.refusedAt = this.now();
        this.deps.log.debug({ err: error, keyId: key.id }, 'leasing a quota block failed');
      })
      .finally(() => {
        ledger.pending = null;
      });
    return ledger.pending;
  }

  private exhausted(key: ApiKeyState): void {
    this.deps.lifecycle
      .transition(key.id, 'EXHAUSTED', { actor: 'QUOTA', reason: `quota of ${key.quotaLimit} requests used` })
      .catch((error: unknown) => this.deps.log.error({ err: error, keyId: key.id }, 'marking a key exhausted failed'));
  }

  private async giveBack(key: ApiKeyState): Promise<void> {
    const units = key.leaseLeft ?? 0;
    if (units <= 0) return;
    this.deps.state.apply(key, { type: 'leased', delta: -units });
    await this.sql.giveBack(key.id, units);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const now = this.now();
      if (now - this.lastRenew >= RENEW_MS) await this.renewAndSweep(now);
      const due: Array<() => Promise<void>> = [];
      for (const key of this.deps.state.keys.values()) {
        if (key.quotaLimit === null || key.leaseLeft === null) continue;
        const ledger = this.ledger(key.id);
        if (key.leaseLeft > 0 && now - ledger.lastChargeAt >= IDLE_MS) {
          ledger.parked = true;
          due.push(() => this.giveBack(key));
        } else if (this.wantsBlock(key) && !ledger.parked && ledger.pending === null && now - ledger.refusedAt >= REFUSED_RETRY_MS) {
          due.push(() => this.lease(key, ledger));
        }
      }
      await runBounded(due, TICK_CONCURRENCY);
      for (const id of this.ledgers.keys()) {
        if (this.deps.state.keys.has(id)) continue;
        // A deleted key: its lease row would otherwise be renewed until this instance stops.
        this.ledgers.delete(id);
        await this.sql.giveBack(id, 0).catch(() => {});
      }
    } catch (error) {
      this.deps.log.debug({ err: error }, 'quota lease upkeep failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Keeps this instance's leases alive and returns the units of instances that stopped keeping theirs. */
  private async renewAndSweep(now: number): Promise<void> {
    this.lastRenew = now;
    const held = await this.sql.renew(now + LEASE_TTL_MS);
    for (const key of this.deps.state.keys.values()) {
      // No row any more (a reset elsewhere, or swept after an outage longer than the TTL): the block is void.
      if (key.leaseLeft !== null && key.leaseLeft > 0 && !held.has(key.id) && this.ledgers.get(key.id)?.pending === null) this.reset(key.id);
    }
    await this.sql.sweep(now);
  }
}

async function runBounded(tasks: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]().catch(() => {});
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}
