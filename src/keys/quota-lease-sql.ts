// The statements behind cluster mode's quota blocks (quota-lease.ts). Each
// one is a single atomic statement or one transaction: a block is granted by
// a conditional update (never a read and then a write), and units go back to
// `quotaLeased` only together with the lease row that held them, so a unit is
// never returned twice (a reset or a sweep that already took the row wins).
// PostgreSQL only: cluster mode refuses SQLite.

import type { SqlDriver } from '../db/sql-driver.ts';

export const LEASED = 'COALESCE("quotaLeased", 0)';

const GRANT = `WITH granted AS (
  UPDATE "ApiKey" SET "quotaLeased" = ${LEASED} + ?
  WHERE "id" = ? AND "quotaLimit" IS NOT NULL AND ${LEASED} + ? <= "quotaLimit"
  RETURNING "id")
INSERT INTO "QuotaLease" ("keyId", "instanceId", "units", "expiresAt")
SELECT "id", ?, ?, ? FROM granted
ON CONFLICT ("keyId", "instanceId") DO UPDATE SET "units" = EXCLUDED."units", "expiresAt" = EXCLUDED."expiresAt"
RETURNING "units"`;

const LEFT = `SELECT "quotaLimit" - ${LEASED} AS "left" FROM "ApiKey" WHERE "id" = ? AND "quotaLimit" IS NOT NULL`;

const GIVE_BACK = `WITH held AS (DELETE FROM "QuotaLease" WHERE "keyId" = ? AND "instanceId" = ? RETURNING "keyId")
UPDATE "ApiKey" SET "quotaLeased" = GREATEST(0, ${LEASED} - ?) WHERE "id" IN (SELECT "keyId" FROM held)`;

const SWEEP = `WITH gone AS (DELETE FROM "QuotaLease" WHERE "expiresAt" < ? RETURNING "keyId", "units"),
sums AS (SELECT "keyId", SUM("units") AS "units" FROM gone GROUP BY "keyId")
UPDATE "ApiKey" AS k SET "quotaLeased" = GREATEST(0, COALESCE(k."quotaLeased", 0) - sums."units") FROM sums WHERE k."id" = sums."keyId"`;

export interface LeaseSql {
  /** Takes up to `want` units (shrinking to what is left); 0 when nothing is left. `holding` is what this instance keeps besides. */
  grant(keyId: string, want: number, holding: number, expiresAt: number): Promise<number>;
  /** Gives `units` back and drops this instance's lease row; a no-op when the row is gone (reset, swept). */
  giveBack(keyId: string, units: number): Promise<void>;
  /** Extends every lease of this instance; the keys it still holds a lease for. */
  renew(expiresAt: number): Promise<Set<string>>;
  /** Returns the units of leases whose holder stopped renewing them (a crashed instance); how many keys got units back. */
  sweep(now: number): Promise<number>;
  /**
   * This instance's block is empty and nothing is left to lease: drops its
   * row and answers whether it was the last holder of a live lease (then the
   * key is EXHAUSTED; earlier, another instance still serves from its block).
   * Serialised per key by the key row's lock, so exactly one is the last.
   */
  releaseLast(keyId: string, now: number): Promise<boolean>;
  /** Drops every lease row of this instance (after giving its units back, at shutdown). */
  dropAll(): Promise<void>;
}

export function createLeaseSql(sql: SqlDriver, instanceId: string): LeaseSql {
  const grantOnce = async (keyId: string, n: number, holding: number, expiresAt: number): Promise<boolean> => {
    const rows = await sql.query(GRANT, [n, keyId, n, instanceId, holding + n, sql.time(expiresAt)]);
    return rows.length > 0;
  };
  return {
    async grant(keyId, want, holding, expiresAt) {
      // Shrinks to what is left; another instance may take it meanwhile, so the conditional update decides each time.
      for (let n = want, tries = 0; n > 0 && tries < 4; tries++) {
        if (await grantOnce(keyId, n, holding, expiresAt)) return n;
        const rows = await sql.query<{ left: number | null }>(LEFT, [keyId]);
        n = Math.min(n, Number(rows[0]?.left ?? 0));
      }
      return 0;
    },
    async giveBack(keyId, units) {
      await sql.execute(GIVE_BACK, [keyId, instanceId, units]);
    },
    async renew(expiresAt) {
      const rows = await sql.query<{ keyId: string }>('UPDATE "QuotaLease" SET "expiresAt" = ? WHERE "instanceId" = ? RETURNING "keyId"', [sql.time(expiresAt), instanceId]);
      return new Set(rows.map((r) => r.keyId));
    },
    async sweep(now) {
      return sql.execute(SWEEP, [sql.time(now)]);
    },
    async releaseLast(keyId, now) {
      const [, , others] = await sql.transaction([
        { sql: 'SELECT "id" FROM "ApiKey" WHERE "id" = ? FOR UPDATE', params: [keyId] },
        { sql: 'DELETE FROM "QuotaLease" WHERE "keyId" = ? AND "instanceId" = ?', params: [keyId, instanceId] },
        { sql: 'SELECT COUNT(*) AS "n" FROM "QuotaLease" WHERE "keyId" = ? AND "expiresAt" >= ?', params: [keyId, sql.time(now)] },
      ]);
      return Number(others.rows[0]?.n ?? 0) === 0;
    },
    async dropAll() {
      await sql.execute('DELETE FROM "QuotaLease" WHERE "instanceId" = ?', [instanceId]);
    },
  };
}

/** A quota reset starts the period with no leases (admin resetQuota, the quota-reset job). */
export const RESET_LEASED_COLUMN = `"quotaLeased" = 0`;
export const DELETE_LEASES_OF_KEY = 'DELETE FROM "QuotaLease" WHERE "keyId" = ?';
