import pg from 'pg';

// All keyrelay job locks share this class id (the two-int form of the
// advisory lock functions); the job name, hashed by PostgreSQL, is the object id.
const LOCK_CLASS = 0x6b72; // "kr"

export interface AdvisoryLock {
  release(): Promise<void>;
}

/**
 * Takes `pg_try_advisory_lock` for one job on a connection of its own, held
 * for the whole run: only one gateway instance on a database runs a job at a
 * time, and the other one's run reports `skipped`. The lock is session-level,
 * so it goes away with the connection: a worker killed for running too long
 * (socket closed) releases it as surely as one that finishes.
 */
export async function tryAdvisoryLock(url: string, job: string): Promise<AdvisoryLock | null> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a dropped connection ends the lock; the run's own queries report the error
  await client.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, `keyrelay:job:${job}`]);
    if (!rows[0]?.ok) {
      await client.end();
      return null;
    }
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return {
    async release() {
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, `keyrelay:job:${job}`]);
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}
