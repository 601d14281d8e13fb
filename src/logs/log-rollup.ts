// Per-minute rollups of the request log (table RequestLogMinute), kept by the
// log writer's worker in the same transaction as the rows they count, so
// `stats` over a day reads about 1,440 rows per key instead of every request.
// A batch is summed in memory first: one UPDATE (or INSERT) per minute,
// upstream and key in the batch. The row to add to is found by a lookup rather
// than ON CONFLICT: upstreamId and keyId are nullable (requests without a key,
// and rows whose key or upstream was deleted since, like the log rows they
// mirror), and NULLs never conflict in a unique index. Two instances racing
// may each insert a row for one group; readers sum, so that only costs a row.

import type { StoredRow } from './log-sql.ts';
import { LATENCY_BUCKETS, LATENCY_COLUMNS, latencyBucket } from './latency-buckets.ts';

export const MINUTE_MS = 60_000;

export interface RollupGroup {
  minute: number;
  upstreamId: string | null;
  keyId: string | null;
  /** requests, errors, latencyMs (sum), latencyMax, bytesIn, bytesOut, promptTokens, completionTokens, then the latency buckets. */
  sums: number[];
}

const SUMS = ['requests', 'errors', 'latencyMs', 'latencyMax', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens'] as const;
const MAX_AT = 3;
const FIRST_BUCKET = SUMS.length;
const COLUMNS = [...SUMS, ...LATENCY_COLUMNS];

/** An error as stats and the subscriptions' onlyErrors count it: status >= 400 or a transport error. */
const isError = (r: StoredRow) => r.status >= 400 || r.error !== null;

/** The upstreams and keys the stored rows name, for the safe mode's check of which still exist. */
export function referencedIds(rows: readonly StoredRow[], ids: readonly number[]): { upstreams: string[]; keys: string[] } {
  const upstreams = new Set<string>();
  const keys = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    if (ids[i] === 0) continue;
    if (rows[i]!.upstreamId !== null) upstreams.add(rows[i]!.upstreamId!);
    if (rows[i]!.keyId !== null) keys.add(rows[i]!.keyId!);
  }
  return { upstreams: [...upstreams], keys: [...keys] };
}

/**
 * Sums the stored rows (id not 0) by minute, upstream and key. `gone`, when
 * given, holds the referenced ids that no longer exist: in the writer's safe
 * mode a reference deleted meanwhile was stored as NULL, and so it is counted.
 */
export function rollupRows(rows: readonly StoredRow[], ids: readonly number[], gone?: ReadonlySet<string>): RollupGroup[] {
  const groups = new Map<string, RollupGroup>();
  for (let i = 0; i < rows.length; i++) {
    if (ids[i] === 0) continue;
    const r = rows[i]!;
    const minute = r.createdAt - (((r.createdAt % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    const upstreamId = r.upstreamId !== null && gone?.has(r.upstreamId) ? null : r.upstreamId;
    const keyId = r.keyId !== null && gone?.has(r.keyId) ? null : r.keyId;
    const id = `${minute}\0${upstreamId ?? ''}\0${keyId ?? ''}`;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { minute, upstreamId, keyId, sums: new Array(FIRST_BUCKET + LATENCY_BUCKETS).fill(0) }));
    const s = g.sums;
    s[0]++;
    if (isError(r)) s[1]++;
    s[2] += r.latencyMs;
    if (r.latencyMs > s[MAX_AT]!) s[MAX_AT] = r.latencyMs;
    s[4] += r.bytesIn;
    s[5] += r.bytesOut;
    s[6] += r.promptTokens ?? 0;
    s[7] += r.completionTokens ?? 0;
    s[FIRST_BUCKET + latencyBucket(r.latencyMs)]++;
  }
  return [...groups.values()];
}

/**
 * Adds a group to its row: parameters are the sums in COLUMNS order, then
 * minute, upstreamId, keyId. Changes no row when the group has none yet.
 */
export function rollupUpdateSql(provider: 'sqlite' | 'postgres', placeholder: (n: number) => string): string {
  const max = provider === 'sqlite' ? 'MAX' : 'GREATEST';
  const set = COLUMNS.map((c, i) => (i === MAX_AT ? `"${c}" = ${max}("${c}", ${placeholder(i + 1)})` : `"${c}" = "${c}" + ${placeholder(i + 1)}`));
  const n = COLUMNS.length;
  const same = provider === 'sqlite' ? (c: string, p: string) => `"${c}" IS ${p}` : (c: string, p: string) => `"${c}" IS NOT DISTINCT FROM ${p}::text`;
  return (
    `UPDATE "RequestLogMinute" SET ${set.join(', ')} WHERE "id" = (SELECT "id" FROM "RequestLogMinute" WHERE "minute" = ${placeholder(n + 1)} ` +
    `AND ${same('upstreamId', placeholder(n + 2))} AND ${same('keyId', placeholder(n + 3))} LIMIT 1)`
  );
}

/** A group's first row; the same parameters as rollupUpdateSql. */
export function rollupInsertSql(placeholder: (n: number) => string): string {
  const columns = [...COLUMNS, 'minute', 'upstreamId', 'keyId'];
  return `INSERT INTO "RequestLogMinute" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((_, i) => placeholder(i + 1)).join(', ')})`;
}

export function rollupParams<T>(g: RollupGroup, time: (ms: number) => T): Array<number | string | null | T> {
  return [...g.sums, time(g.minute), g.upstreamId, g.keyId];
}

type PgQuery = (text: string, params: unknown[]) => Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
const PG_UPDATE = rollupUpdateSql('postgres', (n) => `$${n}`);
const PG_INSERT = rollupInsertSql((n) => `$${n}`);

/** PostgreSQL: sums the stored rows and adds them to the rollups, inside the batch's transaction (`query` runs on its client). */
export async function writeRollupsPg(query: PgQuery, rows: readonly StoredRow[], ids: readonly number[], safe: boolean): Promise<void> {
  let gone: Set<string> | undefined;
  if (safe) {
    const refs = referencedIds(rows, ids);
    const found = await query('SELECT "id" FROM "Upstream" WHERE "id" = ANY($1::text[]) UNION ALL SELECT "id" FROM "ApiKey" WHERE "id" = ANY($2::text[])', [refs.upstreams, refs.keys]);
    const present = new Set(found.rows.map((r) => r.id as string));
    gone = new Set([...refs.upstreams, ...refs.keys].filter((id) => !present.has(id)));
  }
  for (const g of rollupRows(rows, ids, gone)) {
    const params = rollupParams(g, (ms) => new Date(ms));
    if ((await query(PG_UPDATE, params)).rowCount === 0) await query(PG_INSERT, params);
  }
}
