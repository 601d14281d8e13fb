import type { PrismaClient } from '../generated/prisma/client.ts';
import type { EventBus, KeyStateChange } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { Actor, ApiKeyState, KeyStatus } from '../state/types.ts';
import { ReturnTimers } from './return-timers.ts';

/**
 * Asked before a return timer brings a DISABLED key back (the upstream has a
 * health probe): null when no check applies (return at once), else a verdict;
 * a failed check keeps the key DISABLED for `retryInMs` more, and that is an
 * event too. Must not reject.
 */
export type ReturnCheck = (key: ApiKeyState) => Promise<{ ok: boolean; reason: string; retryInMs: number }> | null;

export interface TransitionOptions {
  actor: Actor;
  reason?: string | null;
  /** For DISABLED: epoch ms when the key comes back; null keeps it out until re-enabled by hand. */
  until?: number | null;
  ruleId?: string | null;
  requestId?: string | null;
}

/**
 * The one place where a key changes state. Each change updates the in-memory
 * key at once (the hot path sees it on the next pick), then writes the key row
 * and a KeyEvent in one transaction, in order, and publishes
 * `apiKey:stateChanged`. A disabled key returns exactly when its time is up,
 * by an in-process timer; the scheduled job is only the safety net.
 */
export class KeyLifecycle {
  private writes: Promise<unknown> = Promise.resolve();
  private readonly timers: ReturnTimers;
  private stopped = false;

  constructor(
    private readonly deps: { prisma: PrismaClient; state: GatewayState; events: EventBus; log: Logger; now?: () => number; returnCheck?: ReturnCheck },
  ) {
    this.timers = new ReturnTimers((keyId, model) => this.timeIsUp(keyId, model));
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Changes a key's status; resolves once the change is stored and published. */
  transition(keyId: string, to: KeyStatus, opts: TransitionOptions): Promise<KeyStateChange | null> {
    const key = this.deps.state.keys.get(keyId);
    if (!key) return Promise.resolve(null);
    const from = key.status;
    const until = to === 'DISABLED' ? (opts.until ?? null) : null;
    if (from === to && key.disabledUntil === until) return Promise.resolve(null);
    key.status = to;
    key.disabledUntil = until;
    key.statusReason = opts.reason ?? null;
    if (to === 'ACTIVE' && opts.actor === 'ADMIN') key.disableCount = 0;
    this.refreshPool(key);
    this.timers.cancel(keyId);
    if (to === 'DISABLED' && until !== null) this.timers.schedule(keyId, null, until - this.now());
    return this.record(key, from, to, { ...opts, until }, null);
  }

  /** Takes a key out for one model only; it keeps serving the others. */
  cooldownModel(keyId: string, model: string, until: number, opts: TransitionOptions): Promise<KeyStateChange | null> {
    const key = this.deps.state.keys.get(keyId);
    if (!key) return Promise.resolve(null);
    key.modelCooldowns.set(model, until);
    this.timers.schedule(keyId, model, until - this.now());
    return this.record(key, key.status, key.status, { ...opts, until }, model);
  }

  /**
   * Forgets a key's escalation history once it has been healthy again (the
   * rule runtime decides when). Stored in order with the other changes, without
   * a KeyEvent: the key's state does not change. Never rejects.
   */
  resetDisableCount(keyId: string): Promise<void> {
    const key = this.deps.state.keys.get(keyId);
    if (!key || key.disableCount === 0) return Promise.resolve();
    key.disableCount = 0;
    const write = () => this.deps.prisma.apiKey.updateMany({ where: { id: keyId }, data: { disableCount: 0 } });
    this.writes = this.writes.then(write, write).catch((error: unknown) => {
      this.deps.log.error({ err: error, keyId }, 'storing a key escalation reset failed');
    });
    return this.writes.then(() => undefined);
  }

  /** Re-arms return timers after a restart; keys whose time has passed return now. */
  restoreTimers(): void {
    const now = this.now();
    for (const key of this.deps.state.keys.values()) {
      if (key.status === 'DISABLED' && key.disabledUntil !== null) this.timers.schedule(key.id, null, key.disabledUntil - now);
      for (const [model, until] of key.modelCooldowns) this.timers.schedule(key.id, model, until - now);
    }
  }

  /** Resolves when every change made so far is stored. */
  flushed(): Promise<void> {
    return this.writes.then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    this.timers.clear();
  }

  private timeIsUp(keyId: string, model: string | null): void {
    const key = this.deps.state.keys.get(keyId);
    if (!key) return;
    const now = this.now();
    if (model) {
      const until = key.modelCooldowns.get(model);
      if (until === undefined) return;
      if (until > now) return this.timers.schedule(keyId, model, until - now);
      key.modelCooldowns.delete(model);
      void this.record(key, key.status, key.status, { actor: 'TIMER', reason: `cooldown for ${model} over` }, model, true);
      return;
    }
    if (key.status !== 'DISABLED' || key.disabledUntil === null) return;
    if (key.disabledUntil > now) return this.timers.schedule(keyId, null, key.disabledUntil - now);
    const check = this.deps.returnCheck?.(key) ?? null;
    // Failures are logged by the write chain; catch so none goes unhandled.
    if (check === null) return void this.transition(keyId, 'ACTIVE', { actor: 'TIMER', reason: 'disable time over' }).catch(() => {});
    const due = key.disabledUntil;
    void check
      .then((verdict) => {
        // An admin or a rule may have changed the key while the probe ran: then theirs is the last word.
        if (this.stopped || key.status !== 'DISABLED' || key.disabledUntil !== due) return;
        if (verdict.ok) return this.transition(keyId, 'ACTIVE', { actor: 'TIMER', reason: 'disable time over; probe passed' });
        return this.transition(keyId, 'DISABLED', { actor: 'TIMER', reason: `probe failed: ${verdict.reason}`, until: this.now() + verdict.retryInMs });
      })
      .catch((error: unknown) => this.deps.log.error({ err: error, keyId }, 'return check failed'));
  }

  private refreshPool(key: ApiKeyState): void {
    this.deps.state.upstreamsById.get(key.upstreamId)?.pool.refresh(key.id);
  }

  private record(
    key: ApiKeyState,
    from: KeyStatus,
    to: KeyStatus,
    opts: TransitionOptions,
    model: string | null,
    modelReturn = false,
  ): Promise<KeyStateChange | null> {
    const change: KeyStateChange = {
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
      disabledUntil: modelReturn ? null : (opts.until ?? null),
      at: this.now(),
    };
    const { prisma } = this.deps;
    const write = async () => {
      const keyUpdate = model
        ? modelReturn
          ? prisma.keyModelCooldown.deleteMany({ where: { keyId: key.id, model } })
          : prisma.keyModelCooldown.upsert({
              where: { keyId_model: { keyId: key.id, model } },
              create: { keyId: key.id, model, until: new Date(change.disabledUntil!), reason: change.reason },
              update: { until: new Date(change.disabledUntil!), reason: change.reason },
            })
        : prisma.apiKey.updateMany({
            where: { id: key.id },
            data: {
              status: to,
              disabledUntil: change.disabledUntil ? new Date(change.disabledUntil) : null,
              statusReason: change.reason,
              disableCount: key.disableCount,
            },
          });
      await prisma.$transaction([
        keyUpdate,
        prisma.keyEvent.create({
          data: {
            createdAt: new Date(change.at),
            keyId: key.id,
            keyName: key.name,
            upstreamId: key.upstreamId,
            fromStatus: from,
            toStatus: to,
            reason: change.reason,
            actor: change.actor,
            ruleId: change.ruleId,
            requestId: change.requestId,
            model,
            disabledUntil: change.disabledUntil ? new Date(change.disabledUntil) : null,
          },
        }),
      ]);
      this.deps.events.publish('apiKey:stateChanged', change);
      this.deps.log.info({ keyId: key.id, upstreamId: key.upstreamId, from, to, model, actor: change.actor, reason: change.reason, requestId: change.requestId }, 'key state changed');
      return change;
    };
    // One chain keeps the stored order equal to the order of the changes.
    const result = this.writes.then(write, write);
    this.writes = result.catch((error: unknown) => {
      this.deps.log.error({ err: error, keyId: key.id }, 'storing a key state change failed');
    });
    return result;
  }
}
