// What the hot path derives from an upstream's config, computed once per
// config version instead of per request: the undici Pool for its origin
// (keep-alive, timeouts from the config), the base path, the query
// parameters to strip and the retry status set. A new config version reuses
// the Pool when nothing it was built from changed; otherwise a new Pool takes
// new requests and the old one is closed gracefully (in-flight requests end).

import { Pool } from 'undici';
import type { EventBus } from '../events/bus.ts';
import type { GatewayState, UpstreamRuntime } from '../state/gateway-state.ts';

export interface UpstreamTarget {
  version: number;
  pool: Pool;
  /** Pool-relevant settings, to tell whether a new version needs a new Pool. */
  poolSignature: string;
  basePath: string;
  /** Removed from the client's query: the `key` credential, and the auth parameter for QUERY auth. */
  stripQuery: string[];
  retryOn: ReadonlySet<number>;
}

/** Client errors are the client's: retrying them on another key only burns quota. */
const NEVER_RETRY = new Set([400, 404, 413, 422]);

/** How long an idle upstream connection is kept (capped by the upstream's own keep-alive hint). */
const KEEP_ALIVE_MS = 30_000;

export class UpstreamTargets {
  private readonly targets = new Map<string, UpstreamTarget>();

  /** The target for this runtime, rebuilt when its version changed. */
  get(runtime: UpstreamRuntime): UpstreamTarget {
    const current = this.targets.get(runtime.config.id);
    if (current !== undefined && current.version === runtime.version) return current;
    return this.rebuild(runtime, current);
  }

  /** Closes the Pools of upstreams that no longer exist. */
  sweep(liveIds: ReadonlySet<string> | Map<string, unknown>): void {
    for (const [id, target] of this.targets) {
      if (liveIds.has(id)) continue;
      this.targets.delete(id);
      void target.pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pools = [...this.targets.values()].map((t) => t.pool);
    this.targets.clear();
    // destroy(), not close(): at shutdown the server has already dropped its clients.
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }

  private rebuild(runtime: UpstreamRuntime, previous: UpstreamTarget | undefined): UpstreamTarget {
    const c = runtime.config;
    const url = new URL(c.baseUrl);
    const signature = [url.origin, c.connectTimeoutMs, c.timeoutMs, c.bodyTimeoutMs].join('|');
    let pool: Pool;
    if (previous !== undefined && previous.poolSignature === signature) {
      pool = previous.pool;
    } else {
      pool = new Pool(url.origin, {
        connect: { timeout: c.connectTimeoutMs },
        headersTimeout: c.timeoutMs,
        bodyTimeout: c.bodyTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        pipelining: 1,
      });
      if (previous !== undefined) void previous.pool.close().catch(() => {});
    }
    const stripQuery = ['key'];
    if (c.authType === 'QUERY' && c.authName !== null && c.authName !== 'key') stripQuery.push(c.authName);
    const target: UpstreamTarget = {
      version: runtime.version,
      pool,
      poolSignature: signature,
      basePath: url.pathname === '/' ? '' : url.pathname,
      stripQuery,
      retryOn: new Set(c.retryOnStatus.filter((s) => !NEVER_RETRY.has(s))),
    };
    this.targets.set(c.id, target);
    return target;
  }
}

/** Closes the Pools of deleted upstreams as the admin API announces changes; returns a stop function. */
export function sweepOnConfigChange(events: EventBus, state: GatewayState, targets: UpstreamTargets): () => void {
  const changes = events.subscribe('config:changed');
  void (async () => {
    for await (const change of changes) {
      if (change.kind === 'upstream' || change.kind === 'all') targets.sweep(state.upstreamsById);
    }
  })();
  return () => void changes.return?.();
}
