import { signal } from '@preact/signals';

/**
 * A bounded, newest-first list fed faster than it should render: rows are
 * queued and applied at most once per animation frame, and the list keeps
 * `limit` rows, so 1,000 rows a second cost one render a frame.
 */
export class LiveTail<T extends { id: string }> {
  readonly rows = signal<T[]>([]);
  readonly paused = signal(false);
  /** Rows that arrived while paused (bounded like the list). */
  readonly held = signal(0);
  #queue: T[] = [];
  #frame = 0;

  constructor(readonly limit = 500) {}

  reset(rows: T[]): void {
    this.#queue = [];
    this.held.value = 0;
    this.rows.value = rows.slice(0, this.limit);
  }

  push(row: T): void {
    this.#queue.push(row);
    if (this.#queue.length > this.limit) this.#queue.splice(0, this.#queue.length - this.limit);
    if (this.paused.value) {
      this.held.value = this.#queue.length;
      return;
    }
    this.#frame ||= requestAnimationFrame(() => this.#flush());
  }

  #flush(): void {
    this.#frame = 0;
    if (this.paused.value || this.#queue.length === 0) return;
    const fresh = this.#queue.reverse();
    this.#queue = [];
    const seen = new Set(fresh.map((r) => r.id));
    this.rows.value = [...fresh, ...this.rows.value.filter((r) => !seen.has(r.id))].slice(0, this.limit);
  }

  setPaused(paused: boolean): void {
    this.paused.value = paused;
    if (!paused) {
      this.held.value = 0;
      this.#flush();
    }
  }

  dispose(): void {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#queue = [];
  }
}
