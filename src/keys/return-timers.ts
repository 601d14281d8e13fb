/** One timer per (key, model); re-scheduling replaces the earlier one. */
export class ReturnTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onDue: (keyId: string, model: string | null) => void) {}

  schedule(keyId: string, model: string | null, delayMs: number): void {
    const id = model === null ? keyId : `${keyId}\u0000${model}`;
    const previous = this.timers.get(id);
    if (previous) clearTimeout(previous);
    // setTimeout caps at ~24.8 days; longer waits re-arm when they wake.
    const wait = Math.max(0, Math.min(delayMs, 2_000_000_000));
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.onDue(keyId, model);
    }, wait);
    timer.unref();
    this.timers.set(id, timer);
  }

  cancel(keyId: string): void {
    const timer = this.timers.get(keyId);
    if (timer) clearTimeout(timer);
    this.timers.delete(keyId);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
