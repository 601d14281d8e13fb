import type { Logger } from '../logger.ts';

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5_000;

/**
 * The lifecycle's writes, one after another: the stored order is the order
 * of the changes. `once` is for changes that must be stored before they take
 * effect (an admin's: the caller sees the failure and nothing changed);
 * `untilStored` is for changes already in effect in memory (a rule's, the
 * quota's, a timer's): those are retried with backoff until the database
 * takes them, so memory and the database agree again as soon as it is
 * reachable. Only closing stops the retries (what is left is logged).
 */
export class StoreQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private closing = false;
  private wake: (() => void) | null = null;

  constructor(private readonly log: Logger) {}

  /** Runs `work` after everything queued before it; its result or rejection is the caller's. */
  once<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Runs `store` in order and retries it until it succeeds (or the queue closes), then `after`. */
  untilStored<T>(context: Record<string, unknown>, store: () => Promise<void>, after: () => T): Promise<T> {
    return this.once(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await store();
          return after();
        } catch (error) {
          if (this.closing) {
            this.log.error({ err: error, ...context }, 'storing a key state change failed at shutdown; memory and database may differ until the next start');
            throw error;
          }
          this.log.error({ err: error, ...context, attempt }, 'storing a key state change failed; retrying');
          await this.pause(Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS));
        }
      }
    });
  }

  /** Resolves when every change queued so far has been stored (or given up). */
  flushed(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  /** Stops retrying (one last attempt each) and waits for the queue to empty. */
  close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    return this.flushed();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
