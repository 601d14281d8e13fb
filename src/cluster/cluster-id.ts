import { randomUUID } from 'node:crypto';
import type { SqlDriver } from '../db/sql-driver.ts';

/**
 * The cluster is the database: instances on one PostgreSQL share one id, so
 * clusters (a staging and a production) sharing a Redis never see each
 * other's keys, channels or events. Created by the first instance; the
 * conditional insert makes concurrent first starts agree.
 */
export async function loadClusterId(sql: SqlDriver): Promise<string> {
  await sql.execute('INSERT INTO "Setting" ("key", "value", "updatedAt") VALUES (?, ?, ?) ON CONFLICT ("key") DO NOTHING', ['clusterId', randomUUID(), sql.time(Date.now())]);
  const rows = await sql.query<{ value: string }>('SELECT "value" FROM "Setting" WHERE "key" = ?', ['clusterId']);
  if (!rows[0]) throw new Error('the cluster id could not be stored');
  return rows[0].value;
}
