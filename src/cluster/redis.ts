// Cluster mode's Redis: one connection for commands (counters, scripts,
// publishing) and one for subscribing (a subscribed connection can do
// nothing else). Redis is a helper, never a dependency of a request: commands
// fail at once while it is unreachable (no offline queue) so callers fall
// back to local state, and ioredis reconnects by itself behind them.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

export type RedisHealthState = 'ok' | 'degraded';

/** Whether Redis answers now; parts that fall back to local state watch it. */
export interface RedisHealth {
  readonly state: RedisHealthState;
  /** Called on every change; returns the unsubscribe. */
  onChange(listener: (state: RedisHealthState) => void): () => void;
}

export interface ClusterRedis {
  /** This process, unique in the cluster (a restart is a new instance). */
  readonly instanceId: string;
  /** Every key and channel of this cluster starts with it: `keyrelay:<clusterId>:`. */
  readonly prefix: string;
  readonly commands: Redis;
  readonly subscriber: Redis;
  readonly health: RedisHealth;
  close(): Promise<void>;
}

/** A command that has not answered by then fails, so no request waits on a Redis that stopped answering. */
export const REDIS_COMMAND_TIMEOUT_MS = 250;
/** While Redis is down, how often the outage is logged again (not once per request or per reconnect attempt). */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export async function openClusterRedis(opts: { url: string; clusterId: string; log: Logger }): Promise<ClusterRedis> {
  const { url, clusterId } = opts;
  const log = opts.log.child({ part: 'redis' });
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    // Forever, at most every 2 s: an outage ends by itself.
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
    lazyConnect: true,
  };
  const commands = new Redis(url, { ...options, connectionName: 'keyrelay-commands' });
  // Subscriptions are restored by ioredis on reconnect; a subscribed connection has no commands to time out.
  const subscriber = new Redis(url, { ...options, commandTimeout: undefined, enableOfflineQueue: true, connectionName: 'keyrelay-events' });
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    // The URL may carry a password: name the cause, not the URL.
    throw new Error(`Redis at KEYRELAY_REDIS_URL did not answer: ${(error as Error).message}`);
  }
  // Watched once both are up, so the start itself is not an outage.
  const health = watchHealth([commands, subscriber], log);
  return {
    instanceId: randomUUID(),
    prefix: `keyrelay:${clusterId}:`,
    commands,
    subscriber,
    health,
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Degraded while either connection is down; the outage is logged when it starts, every interval while it lasts, and when it ends. */
function watchHealth(connections: Redis[], log: Logger): RedisHealth {
  const listeners = new Set<(state: RedisHealthState) => void>();
  let state: RedisHealthState = 'ok';
  let since = 0;
  let lastLogged = 0;
  let errors = 0;
  const set = (next: RedisHealthState) => {
    if (next === state) return;
    state = next;
    if (next === 'degraded') {
      since = Date.now();
      lastLogged = since;
      log.warn('redis unreachable: serving with local events and counters until it returns');
    } else {
      log.info({ outageMs: Date.now() - since, errors }, 'redis reachable again');
      errors = 0;
    }
    for (const listener of listeners) listener(state);
  };
  const update = () => set(connections.every((c) => c.status === 'ready') ? 'ok' : 'degraded');
  for (const connection of connections) {
    connection.on('ready', update);
    connection.on('close', update);
    connection.on('end', update);
    connection.on('error', (error: Error) => {
      errors++;
      const now = Date.now();
      if (state === 'degraded' && now - lastLogged >= OUTAGE_LOG_INTERVAL_MS) {
        lastLogged = now;
        log.warn({ outageMs: now - since, errors, cause: error.message }, 'redis still unreachable');
      }
    });
  }
  return {
    get state() {
      return state;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
