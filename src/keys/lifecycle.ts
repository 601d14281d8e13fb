import type { SqlDriver } from '../db/sql-driver.ts';
import type { EventBus, KeyStateChange } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { Actor, ApiKeyState, KeyStatus } from '../state/types.ts';
import { claimCooldownOver, claimReturn, storeDisableCount, storeKeyChange } from './key-store.ts';
import { ReturnTimers } from './return-timers.ts';
import { returnOutcome, type ReturnOutcome, type ReturnVerdict } from './return-outcome.ts';
import { StoreQueue } from './store-queue.ts';

/**
 * Asked before a return timer brings a DISABLED key back (the upstream has a
 * health probe): null when no check applies (return at once), else a verdict;
 * a failed check keeps the key DISABLED for `retryInMs` more, and that is an
 * event too. Must not reject.
 */
export type ReturnCheck = (key: ApiKeyState) => Promise<ReturnVerdict> | null;

export interface TransitionOptions {
  actor: Actor;
  reason?: string | null;
  /** For DISABLED: epoch ms when the key comes back; null keeps it out until re-enabled by hand. */
  until?: number | null;
  ruleId?: string | null;
  requestId?: string | null;
  /** The key's escalation count to store with this change (a rule's disable counts one more). */
  disableCount?: number;
}

/** Where the lifecycle stores; the key store over the main connection unless a test replaces it. */
export interface KeyChangeStore {
  change(change: KeyStateChange, disableCount: number): Promise<void>;
  disableCount(keyId: string, value: number): Promise<void>;
  /** Cluster mode: a timer's change stored only if the key is still as this instance saw it; false when another got there first. */
  claim?(change: KeyStateChange, seenUntil: number): Promise<boolean>;
}

export interface LifecycleDeps {
  sql: SqlDriver;
  state: GatewayState;
  events: EventBus;
  log: Logger;
  now?: () => number;
  returnCheck?: ReturnCheck;
  store?: KeyChangeStore;
  /**
   * Cluster mode: every instance arms the timers, and the first to claim a
   * return (a conditional update) stores it; the others change nothing.
   */
  claimTimers?: boolean;
}

/**
 * Every key state change on the main thread goes through here (the job
 * workers store theirs with the same key store, and the main thread re-reads
 * those keys). Two kinds, both stored in order with a KeyEvent and then
 * published as `apiKey:stateChanged`:
 * - an admin's change is stored first and applied to memory only once stored:
 *   a refused write rejects and leaves the key as it was;
 * - a change the gateway makes itself (a rule fired, the quota ran out, a
 *   timer or probe returned the key) is applied at once, so the next pick
 *   sees it without waiting for the database, and its store is retried until
 *   it succeeds.
 * Each change carries a sequence number; memory shows the newest applied one,
 * so an admin change stored after a newer rule change does not overwrite it
 * in memory (the rule's store follows and wins in the database as well).
 */
export class KeyLifecycle {
  private readonly timers: ReturnTimers;
  private readonly queue: StoreQueue;
  private readonly store: KeyChangeStore;
  private readonly appliedSeq = new WeakMap<ApiKeyState, number>();
  private seq = 0;
  private stopped = false;

  constructor(private readonly deps: LifecycleDeps) {
    this.timers = new ReturnTimers((keyId, model) => this.timeIsUp(keyId, model));
    this.queue = new StoreQueue(deps.log);
    this.store = deps.store ?? {
      change: (change, disableCount) => storeKeyChange(deps.sql, change, disableCount),
      disableCount: (keyId, value) => storeDisableCount(deps.sql, keyId, value),
      claim: (change, seenUntil) =>
        change.model === null
          ? claimReturn(deps.sql, change.keyId, seenUntil, change.at, change.to === 'ACTIVE' ? { to: 'ACTIVE', reason: change.reason ?? '', until: null } : { to: 'DISABLED', reason: change.reason ?? '', until: change.disabledUntil! })
          : claimCooldownOver(deps.sql, change.keyId, change.model, seenUntil, change.at),
    };
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Changes a key's status; resolves once the change is stored and published (null: nothing to change). */
  transition(keyId: string, to: KeyStatus, opts: TransitionOptions): Promise<KeyStateChange | null> {
    const until = to === 'DISABLED' ? (opts.until ?? null) : null;
    if (opts.actor === 'ADMIN') return this.storeThenApply(keyId, to, until, opts);
    const key = this.deps.state.keys.get(keyId);
    if (!key || (key.status === to && key.disabledUntil === until)) return Promise.resolve(null);
    const change = this.describe(key, key.status, to, { ...opts, until }, null);
    const disableCount = opts.disableCount ?? key.disableCount;
    this.applyStatus(key, change, disableCount, ++this.seq);
    return this.queue.untilStored({ keyId }, () => this.store.change(change, disableCount), () => this.published(change));
  }

  /** Takes a key out for one model only; it keeps serving the others. Applied at once (rules use it). */
  cooldownModel(keyId: string, model: string, until: number, opts: TransitionOptions): Promise<KeyStateChange | null> {
    const key = this.deps.state.keys.get(keyId);
    if (!key) return Promise.resolve(null);
    this.deps.state.apply(key, { type: 'cooldown', model, until });
    this.timers.schedule(keyId, model, until - this.now());
    const change = this.describe(key, key.status, key.status, { ...opts, until }, model);
    return this.queue.untilStored({ keyId }, () => this.store.change(change, key.disableCount), () => this.published(change));
  }

  /**
   * Forgets a key's escalation history once it has been healthy again (the
   * rule runtime decides when). Stored in order with the other changes, without
   * a KeyEvent: the key's state does not change. Never rejects.
   */
  resetDisableCount(keyId: string): Promise<void> {
    const key = this.deps.state.keys.get(keyId);
    if (!key || key.disableCount === 0) return Promise.resolve();
    this.deps.state.apply(key, { type: 'disableCount', value: 0 });
    return this.queue.untilStored({ keyId }, () => this.store.disableCount(keyId, 0), () => undefined).catch(() => {});
  }

  /** Re-arms return timers after a restart; keys whose time has passed return now. */
  restoreTimers(): void {
    for (const key of this.deps.state.keys.values()) this.armTimers(key);
  }

  /**
   * Arms a key's timers from its in-memory state (after it was re-read from
   * the database: in cluster mode another instance may have disabled it).
   */
  armTimers(key: ApiKeyState): void {
    if (key.status === 'DISABLED' && key.disabledUntil !== null) this.armTimer(key.id, null, key.disabledUntil);
    for (const [model, until] of key.modelCooldowns) this.armTimer(key.id, model, until);
  }

  /** Arms one timer for `until`; when it fires, the key's state in memory decides what (if anything) happens. */
  armTimer(keyId: string, model: string | null, until: number): void {
    if (!this.stopped) this.timers.schedule(keyId, model, until - this.now());
  }

  /** Resolves when every change made so far is stored. */
  flushed(): Promise<void> {
    return this.queue.flushed();
  }

  /** At shutdown: stores what is queued, without retrying past one more attempt. */
  drain(): Promise<void> {
    return this.queue.close();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clear();
  }

  private storeThenApply(keyId: string, to: KeyStatus, until: number | null, opts: TransitionOptions): Promise<KeyStateChange | null> {
    const seq = ++this.seq;
    return this.queue.storeOrRefuse(async () => {
      const key = this.deps.state.keys.get(keyId);
      if (!key || (key.status === to && key.disabledUntil === until)) return null;
      const change = this.describe(key, key.status, to, { ...opts, until }, null);
      const disableCount = to === 'ACTIVE' ? 0 : key.disableCount;
      await this.store.change(change, disableCount);
      // A rule may have changed the key after this change was asked for; then memory already shows the newer one.
      if (seq > (this.appliedSeq.get(key) ?? 0)) this.applyStatus(key, change, disableCount, seq);
      return this.published(change);
    });
  }

  /** The one place a status change reaches memory: the key, its pool, its return timer. */
  private applyStatus(key: ApiKeyState, change: KeyStateChange, disableCount: number, seq: number): void {
    this.appliedSeq.set(key, seq);
    this.deps.state.apply(key, { type: 'status', status: change.to, disabledUntil: change.disabledUntil, reason: change.reason, disableCount });
    this.timers.cancel(key.id);
    if (change.to === 'DISABLED' && change.disabledUntil !== null) this.timers.schedule(key.id, null, change.disabledUntil - this.now());
  }

  private timeIsUp(keyId: string, model: string | null): void {
    const key = this.deps.state.keys.get(keyId);
    if (!key) return;
    const now = this.now();
    if (model) return this.cooldownIsUp(key, model, now);
    if (key.status !== 'DISABLED' || key.disabledUntil === null) return;
    if (key.disabledUntil > now) return this.timers.schedule(keyId, null, key.disabledUntil - now);
    const check = this.deps.returnCheck?.(key) ?? null;
    // Failures are logged by the store queue; catch so none goes unhandled.
    const due = key.disabledUntil;
    if (check === null) return void this.timerReturn(key, due, returnOutcome(null, now)).catch(() => {});
    void check
      .then((verdict) => {
        // An admin or a rule may have changed the key while the probe ran: then theirs is the last word.
        if (this.stopped || key.status !== 'DISABLED' || key.disabledUntil !== due) return;
        return this.timerReturn(key, due, returnOutcome(verdict, this.now()));
      })
      .catch((error: unknown) => this.deps.log.error({ err: error, keyId }, 'return check failed'));
  }

  private cooldownIsUp(key: ApiKeyState, model: string, now: number): void {
    const until = key.modelCooldowns.get(model);
    if (until === undefined) return;
    if (until > now) return this.timers.schedule(key.id, model, until - now);
    this.deps.state.apply(key, { type: 'cooldownOver', model });
    const change = this.describe(key, key.status, key.status, { actor: 'TIMER', reason: `cooldown for ${model} over`, until: null }, model);
    if (this.claiming()) return void this.claimed(change, until).catch(() => {});
    void this.queue.untilStored({ keyId: key.id }, () => this.store.change(change, key.disableCount), () => this.published(change)).catch(() => {});
  }

  private claiming(): boolean {
    return this.deps.claimTimers === true && this.store.claim !== undefined;
  }

  /** A DISABLED key's time (`due`) is over: it returns, or stays out after a failed probe. */
  private timerReturn(key: ApiKeyState, due: number, outcome: ReturnOutcome): Promise<KeyStateChange | null> {
    if (!this.claiming()) return this.transition(key.id, outcome.to, { actor: 'TIMER', reason: outcome.reason, until: outcome.until });
    const change = this.describe(key, key.status, outcome.to, { actor: 'TIMER', reason: outcome.reason, until: outcome.until }, null);
    this.applyStatus(key, change, key.disableCount, ++this.seq);
    return this.claimed(change, due);
  }

  /**
   * Cluster mode: every instance's timer fired and applied the change to its
   * own memory at once; the first to claim it in the database stores it (and
   * its one KeyEvent) and publishes it. The others publish nothing and re-read
   * the key, since the database, not their guess, has the last word (another
   * probe may have failed, an admin may have acted). Retried like any change
   * the gateway makes itself, so a database outage delays, never loses, it.
   */
  private claimed(change: KeyStateChange, seenUntil: number): Promise<KeyStateChange | null> {
    let won = false;
    const claim = async () => {
      won = await this.store.claim!(change, seenUntil);
    };
    return this.queue.untilStored({ keyId: change.keyId }, claim, () => {
      if (won) return this.published(change);
      void this.deps.state
        .reloadKey(change.keyId)
        .then((key) => key && !this.stopped && this.armTimers(key))
        .catch((error: unknown) => this.deps.log.warn({ err: error, keyId: change.keyId }, 're-reading a key another instance returned failed'));
      return null;
    });
  }

  private describe(key: ApiKeyState, from: KeyStatus, to: KeyStatus, opts: TransitionOptions, model: string | null): KeyStateChange {
    return {
      keyId: key.id,
      upstreamId: key.upstreamId,
      keyName: key.name,
      fingerprint: key.fingerprint,
      from,
      to,
      reason: opts.reason ?? null,
      actor: opts.actor,
      ruleId: opts.ruleId ?? null,
      requestId: opts.requestId ?? null,
      model,
      disabledUntil: opts.until ?? null,
      at: this.now(),
    };
  }

  private published(change: KeyStateChange): KeyStateChange {
    this.deps.events.publish('apiKey:stateChanged', change);
    const { keyId, upstreamId, from, to, model, actor, reason, requestId } = change;
    this.deps.log.info({ keyId, upstreamId, from, to, model, actor, reason, requestId }, 'key state changed');
    return change;
  }
}
