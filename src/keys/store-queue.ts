import type { Logger } from '../logger.ts';

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5_000;
/** A change retried through an outage is logged when it first fails, then at most this often (not at every attempt). */
const RETRY_LOG_EVERY_MS = 10_000;

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
  /** Why the change being retried failed last; null while the database takes the writes. */
  private stuck: Error | null = null;
  /** Refusers of `storeOrRefuse` work still waiting its turn. */
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(private readonly log: Logger) {}

  /** Runs `work` after everything queued before it; its result or rejection is the caller's. */
  once<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => {});
    return result;
  }

  /**
   * Like `once`, for a change that must be stored before it counts (an
   * admin's): refused when a change ahead of it is being retried through an
   * outage and fails again (retried at once for it), instead of waiting for
   * the database however long that takes. Refused work never runs.
   */
  storeOrRefuse<T>(work: () => Promise<T>): Promise<T> {
    // The database may be back before the retry's next attempt: try it now, and refuse only if that fails too.
    if (this.stuck !== null) this.wake?.();
    return new Promise<T>((resolve, reject) => {
      let refused = false;
      const refuse = (error: Error) => {
        refused = true;
        reject(error);
      };
      this.waiting.add(refuse);
      this.once(async () => {
        this.waiting.delete(refuse);
        if (!refused) resolve(await work());
      }).catch(reject);
    });
  }

  /** Runs `store` in order and retries it until it succeeds (or the queue closes), then `after`. */
  untilStored<T>(context: Record<string, unknown>, store: () => Promise<void>, after: () => T): Promise<T> {
    return this.once(async () => {
      let loggedAt = 0;
      for (let attempt = 1; ; attempt++) {
        try {
          await store();
          this.stuck = null;
          return after();
        } catch (error) {
          this.stuck = new Error(`a key state change waits for the database: ${(error as Error)?.message ?? error}`, { cause: error });
          for (const refuse of this.waiting) refuse(this.stuck);
          this.waiting.clear();
          if (this.closing) {
            this.log.error({ err: error, ...context }, 'storing a key state change failed at shutdown; memory and database may differ until the next start');
            throw error;
          }
          if (Date.now() - loggedAt >= RETRY_LOG_EVERY_MS) {
            loggedAt = Date.now();
            this.log.error({ err: error, ...context, attempt }, 'storing a key state change failed; retrying');
          }
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
