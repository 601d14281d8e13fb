// Envoy-style retry budget (circuit_breaker.proto retry_budget): concurrent
// retries may not exceed a share of active requests, with a floor so a quiet
// gateway can still retry. Stops a failing upstream from turning every client
// request into N upstream requests (a retry storm).

export interface RetryBudgetOptions {
  /** Share of active requests that may be retrying at once (0-100). */
  percent?: number;
  /** Concurrent retries always allowed, however few requests are active. */
  minConcurrency?: number;
}

export class RetryBudget {
  private readonly percent: number;
  private readonly minConcurrency: number;
  private activeRequests = 0;
  private activeRetries = 0;
  /** Retries refused because the budget was spent (Envoy's upstream_rq_retry_overflow). */
  overflow = 0;

  constructor({ percent = 20, minConcurrency = 3 }: RetryBudgetOptions = {}) {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError('percent must be within 0-100');
    if (!Number.isInteger(minConcurrency) || minConcurrency < 0) {
      throw new RangeError('minConcurrency must be a non-negative integer');
    }
    this.percent = percent;
    this.minConcurrency = minConcurrency;
  }

  /** Client requests in flight. A request's retries do not add to it: one request counts once. */
  get active(): number {
    return this.activeRequests;
  }

  get retrying(): number {
    return this.activeRetries;
  }

  requestStarted(): void {
    this.activeRequests++;
  }

  requestFinished(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }

  /** Take a retry slot if the budget allows; pair every `true` with releaseRetry(). */
  tryAcquireRetry(): boolean {
    const limit = Math.max(this.minConcurrency, Math.floor((this.activeRequests * this.percent) / 100));
    if (this.activeRetries < limit) {
      this.activeRetries++;
      return true;
    }
    this.overflow++;
    return false;
  }

  releaseRetry(): void {
    if (this.activeRetries > 0) this.activeRetries--;
  }
}
