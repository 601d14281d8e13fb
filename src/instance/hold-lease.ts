import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { acquireInstanceLease } from './lease.ts';
import { openLeaseConnection } from './lease-connection.ts';

/**
 * Without cluster mode one instance serves a database: a second would spend
 * every quota twice. The lease's heartbeat has its own connection.
 */
export async function holdInstanceLease(config: Config, db: Db, log: Logger, cleanups: Array<() => Promise<void> | void>): Promise<void> {
  if (config.KEYRELAY_TEST_SHARED_DATABASE) return;
  const leaseConnection = openLeaseConnection(db);
  cleanups.push(() => leaseConnection.close());
  const lease = await acquireInstanceLease({ sql: db.sql, heartbeat: leaseConnection.sql }, log, config.KEYRELAY_INSTANCE_LEASE_MS);
  cleanups.push(() => lease.release());
}
