/**
 * A bounded queue of sends with a few running at once. Whoever enqueues
 * never waits: when the queue is full the send is dropped and counted (in
 * /metrics), because a stuck receiver must not grow memory or slow the proxy.
 */
export class SendQueue {
  private readonly pending: Array<() => Promise<void>> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  dropped = 0;

  constructor(private readonly max: number, private readonly concurrency = 4, private readonly onError: (error: unknown) => void = () => {}) {}

  get depth(): number {
    return this.pending.length;
  }

  push(job: () => Promise<void>): boolean {
    if (this.pending.length >= this.max) {
      this.dropped++;
      return false;
    }
    this.pending.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending.length > 0) {
      const job = this.pending.shift()!;
      this.running++;
      job()
        .catch(this.onError)
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.pending.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        });
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Forgets what has not started (at shutdown). */
  clear(): number {
    return this.pending.splice(0).length;
  }
}
