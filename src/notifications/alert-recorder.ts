import type { AlertRaised, AlertStored, EventBus } from '../events/bus.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';

const FLUSH_MS = 100;
const MAX_PENDING = 10_000;
const MAX_BATCH = 500;

export interface AlertRecorderDeps {
  prisma: PrismaClient;
  events: EventBus;
  log: Logger;
}

/**
 * Stores rule alerts off the hot path: the rule action only publishes
 * `alert:raised` (memory); this gathers them and writes them in batches a
 * moment later, then publishes each stored row as `alert:stored` (what the
 * alertRaised subscription pushes). A flood beyond MAX_PENDING is dropped
 * and counted rather than held in memory.
 */
export class AlertRecorder {
  private pending: AlertRaised[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private stopListening: (() => void) | null = null;
  dropped = 0;
  stored = 0;

  constructor(private readonly deps: AlertRecorderDeps) {}

  start(): void {
    const iterator = this.deps.events.subscribe('alert:raised');
    void (async () => {
      for await (const alert of iterator) this.add(alert);
    })();
    this.stopListening = () => void iterator.return?.();
  }

  private add(alert: AlertRaised): void {
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ === 0) this.deps.log.warn({ max: MAX_PENDING }, 'alert queue full: dropping alerts');
      return;
    }
    this.pending.push(alert);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.write());
    }, FLUSH_MS);
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const rows = await this.deps.prisma.alert.createManyAndReturn({
          data: batch.map((a) => ({
            createdAt: new Date(a.at),
            ruleId: a.ruleId,
            ruleName: a.ruleName,
            upstreamId: a.upstreamId,
            upstreamName: a.upstreamName ?? null,
            keyId: a.keyId,
            keyName: a.keyName ?? null,
            fingerprint: a.fingerprint ?? null,
            requestId: a.requestId,
            status: a.status ?? null,
            message: a.message,
          })),
        });
        this.stored += rows.length;
        for (const row of rows) this.deps.events.publish('alert:stored', { ...row, createdAt: row.createdAt.getTime() } satisfies AlertStored);
      } catch (error) {
        this.deps.log.error({ err: error, count: batch.length }, 'storing alerts failed; they stay in the log lines only');
      }
    }
  }

  /** Writes what is pending (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.flushing = this.flushing.then(() => this.write());
    }
    await this.flushing;
  }

  async stop(): Promise<void> {
    this.stopListening?.();
    // Let the listener drain what the bus already delivered before the last write.
    await new Promise((resolve) => setImmediate(resolve));
    await this.flush();
  }
}
