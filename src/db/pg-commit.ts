import type pg from 'pg';

// A COMMIT whose answer never came (the connection died after it was sent)
// may or may not have committed. Retrying such a transaction blindly writes
// it twice (request-log rows, usage deltas added again, a second KeyEvent);
// dropping it may lose it. So every PostgreSQL transaction keyrelay writes
// learns its transaction id first, and after a lost COMMIT a fresh
// connection asks the server what became of it (txid_status), waiting out an
// outage: the caller then knows whether to retry.

/** Settings for every pool: a connection attempt to an unreachable server fails instead of waiting on the OS. */
export const PG_POOL_OPTIONS = { connectionTimeoutMillis: 5000, keepAlive: true } as const;

/**
 * A pooled client, checked out, with a listener for its `error` event until
 * released: the pool listens only to idle clients, and a connection that dies
 * under a checked-out one would otherwise be an uncaught error (it kills the
 * process, or the log worker's thread). The query in flight rejects anyway.
 */
export async function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(broken: boolean): void }> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  return {
    client,
    release(broken) {
      client.off('error', ignore);
      client.release(broken);
    },
  };
}

/** BEGIN, and the transaction's id (assigned now; it writes anyway), in one round trip. */
export async function beginWithId(client: pg.PoolClient): Promise<string> {
  const results = (await client.query('BEGIN; SELECT txid_current()::text AS xid')) as unknown as pg.QueryResult<{ xid: string }>[];
  return results[1]!.rows[0]!.xid;
}

export interface CommitOptions {
  /** The pool to ask on (the transaction's own connection is gone). */
  pool: pg.Pool;
  /** How long to keep asking while the server is unreachable; after that the outcome counts as unknown and the error stands. */
  waitMs: number;
  /** Stops waiting early (shutdown). */
  stopped?(): boolean;
}

/**
 * Commits; resolves `'committed'` normally, `'committed-after-loss'` when the
 * answer was lost but the server says it committed (the caller's connection
 * is broken: release it destroyed). Throws the COMMIT's error when the
 * transaction did not commit, or when its fate could not be learned in time.
 */
export async function commitOrResolve(client: pg.PoolClient, xid: string, opts: CommitOptions): Promise<'committed' | 'committed-after-loss'> {
  try {
    await client.query('COMMIT');
    return 'committed';
  } catch (error) {
    if (await committedAfterAll(xid, opts)) return 'committed-after-loss';
    throw error;
  }
}

async function committedAfterAll(xid: string, opts: CommitOptions): Promise<boolean> {
  const until = Date.now() + opts.waitMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    try {
      const asker = await checkOut(opts.pool);
      let status: string | null;
      try {
        status = (await asker.client.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid])).rows[0]?.status ?? null;
      } catch (error) {
        asker.release(true);
        throw error;
      }
      asker.release(false);
      // 'in progress': the server has not yet noticed the connection is gone; ask again.
      if (status !== 'in progress') return status === 'committed';
    } catch {
      // Unreachable still: keep asking.
    }
    if (Date.now() >= until || opts.stopped?.()) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
