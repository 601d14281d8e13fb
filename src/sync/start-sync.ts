import type { ClusterRedis } from '../cluster/redis.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import type { EventBus, KeyStateChange } from '../events/bus.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { reloadDifferences } from './full-reload.ts';
import { RedisEventTransport, type TransportStats } from './redis-transport.ts';
import { KeyChangeClock, remoteEventReceiver } from './remote-events.ts';

/** The safety net's period: state missed by event (it should be none) is at most this old. */
export const FULL_RELOAD_MS = 60_000;

export interface ClusterSyncDeps {
  cluster: ClusterRedis;
  events: EventBus;
  state: GatewayState;
  prisma: PrismaClient;
  cipher: SecretCipher;
  /** The key lifecycle's `flushed`: this instance's own key changes stored so far. */
  flushed(): Promise<void>;
  log: Logger;
  fullReloadMs?: number;
  /** The proxy's usage counters' discardQuota: another instance reset a key's quota. */
  discardQuota?(keyId: string): void;
}

export interface ClusterSync {
  readonly stats: TransportStats;
  /** Compares memory with the database and re-reads what differs (the safety net; tests call it). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Cluster mode: the bus's events reach the other instances over Redis, and
 * theirs keep this instance's in-memory state current (by event, within
 * milliseconds; by a full comparison every FULL_RELOAD_MS and after every
 * Redis outage).
 */
export async function startClusterSync(deps: ClusterSyncDeps): Promise<ClusterSync> {
  const { cluster, events, state, prisma, log } = deps;
  const syncLog = log.child({ part: 'cluster-events' });
  const clock = new KeyChangeClock();
  const receiver = remoteEventReceiver({ bus: events, state, prisma, clock, log: syncLog, discardQuota: deps.discardQuota });
  const transport = new RedisEventTransport({ cluster, bus: events, log: syncLog, onEvents: (batch) => receiver.receive(batch) });

  // This instance's own key changes take part in the ordering too.
  const own = events.subscribe('apiKey:stateChanged');
  void (async () => {
    for await (const change of own) if (!events.isRemote(change)) clock.observe(change as KeyStateChange);
  })();

  let reloading: Promise<void> | null = null;
  const reload = (why: string) =>
    (reloading ??= reloadDifferences({ prisma, state, cipher: deps.cipher, bus: events, clock, flushed: deps.flushed })
      .then((found) => {
        if (found.upstreams + found.keys > 0 || why === 'reconnected') syncLog.info({ why, ...found }, 'state compared with the database; re-read what differed');
      })
      .catch((error: unknown) => syncLog.warn({ err: error, why }, 'full state reload failed; the next one tries again'))
      .finally(() => {
        reloading = null;
      }));

  const detach = events.attachTransport(transport);
  await transport.start();
  // Changes made between loading the state and subscribing reached no one here.
  void reload('start');
  const timer = setInterval(() => void reload('periodic'), deps.fullReloadMs ?? FULL_RELOAD_MS);
  timer.unref();
  let wasDegraded = false;
  const stopHealth = cluster.health.onChange((health) => {
    if (health === 'degraded') wasDegraded = true;
    else if (wasDegraded) {
      wasDegraded = false;
      syncLog.info({ notSent: transport.stats.dropped }, 'events from the other instances resume: re-reading the state for what was missed meanwhile');
      void reload('reconnected');
    }
  });

  return {
    stats: transport.stats,
    reload: () => reload('asked'),
    async close() {
      clearInterval(timer);
      stopHealth();
      await transport.stop();
      detach();
      await own.return?.();
      await receiver.idle();
      await reloading;
    },
  };
}
