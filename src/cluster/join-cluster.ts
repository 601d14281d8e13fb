import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { loadClusterId } from './cluster-id.ts';
import { openClusterRedis, type ClusterRedis } from './redis.ts';

/** Cluster mode: Redis under this database's cluster id, closed after everything that uses it (cleanups run in reverse). */
export async function joinCluster(config: Config, db: Db, log: Logger, cleanups: Array<() => Promise<void> | void>): Promise<ClusterRedis> {
  const cluster = await openClusterRedis({ url: config.KEYRELAY_REDIS_URL!, clusterId: await loadClusterId(db.sql), log });
  cleanups.push(() => cluster.close());
  log.info({ instanceId: cluster.instanceId }, 'cluster mode: sharing PostgreSQL and Redis with the other instances');
  return cluster;
}
