import type { SqlDriver } from '../db/sql-driver.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

/** `/readyz`: the database answers and every migration this build ships is applied. */
export function databaseReadiness(sql: SqlDriver, migrationCount: number): () => Promise<Readiness> {
  return async () => {
    try {
      const rows = await sql.query<{ n: number | bigint }>(
        'SELECT COUNT(*) AS n FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL',
      );
      const applied = Number(rows[0]?.n ?? 0);
      const migrations = applied >= migrationCount ? 'ok' : `${migrationCount - applied} pending`;
      return { ready: migrations === 'ok', checks: { database: 'ok', migrations } };
    } catch {
      return { ready: false, checks: { database: 'unreachable', migrations: 'unknown' } };
    }
  };
}

/**
 * Cluster mode adds `redis`: `degraded` while Redis is unreachable keeps the
 * instance ready (it serves with local events and counters), so a load
 * balancer does not take every instance out at once for a Redis outage.
 */
export function withRedisReadiness(check: () => Promise<Readiness>, cluster: { health: { state: 'ok' | 'degraded' } } | null): () => Promise<Readiness> {
  if (!cluster) return check;
  return async () => {
    const result = await check();
    return { ready: result.ready, checks: { ...result.checks, redis: cluster.health.state } };
  };
}
