// The proxy's side of a shutdown. At the drain deadline, streams still open
// are ended the way an upstream failure ends them (an SSE `error` event, never
// a fake [DONE] and never a bare TCP reset) before the server cuts what is
// left, so clients can tell a shutdown from a network fault.

import type { ProxyRequest } from './proxy-request.ts';

/** The reason an attempt is cancelled at the drain deadline. */
export class GatewayShutdown extends Error {
  constructor() {
    super('the gateway is shutting down');
    this.name = 'GatewayShutdown';
  }
}

/** Proxied requests in flight, so a shutdown can reach them. */
export class InFlight {
  private readonly requests = new Set<ProxyRequest>();

  add(pr: ProxyRequest): void {
    this.requests.add(pr);
  }

  delete(pr: ProxyRequest): void {
    this.requests.delete(pr);
  }

  /** Cancels every attempt already streaming to its client; resolves when those responses ended (or after `waitMs`). */
  async interruptStreams(waitMs = 500): Promise<number> {
    const ending: Promise<void>[] = [];
    for (const pr of this.requests) {
      const attempt = pr.current;
      if (attempt === null || !pr.res.headersSent || pr.res.writableEnded) continue;
      ending.push(new Promise((resolve) => pr.res.once('close', resolve).once('finish', resolve)));
      attempt.cancel(new GatewayShutdown());
    }
    if (ending.length === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ending), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    return ending.length;
  }
}
