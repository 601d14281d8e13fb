// Per-minute rollups of the request log, kept by the log writer's worker in
// the same transaction as the rows they count, so `stats` over a day reads
// about 1,440 rows per upstream instead of every request: RequestLogMinute
// (per minute and upstream: requests, errors, sums, the largest latency and
// the latency histogram) and RequestLogKeyMinute (per minute, upstream and
// key: requests, errors, latency; narrow, since with many keys in use it holds
// many rows). A batch is summed in memory first: one UPDATE (or INSERT) per
// group in the batch, setting only the columns the batch changes (a group of
// a few rows touches a few of the 51 latency buckets) on the row id the worker
// remembers from its last write of that group: measured 3.4 µs an UPDATE
// against 13.4 for every column with the row looked up. The row is found by a
// lookup rather than ON CONFLICT: upstreamId and keyId are nullable (requests
// that named no upstream, and rows whose key or upstream was deleted since,
// like the log rows they mirror), and NULLs never conflict in a unique index.
// Two instances may each hold a row for one group; readers sum, so that only
// costs a row.

import type { StoredRow } from './log-sql.ts';
import { LATENCY_COLUMNS, latencyBucket } from './latency-buckets.ts';

export const MINUTE_MS = 60_000;

export interface RollupTable {
  name: 'RequestLogMinute' | 'RequestLogKeyMinute';
  /** The summed columns, in the order of a group's sums. */
  columns: readonly string[];
  /** The column kept as a maximum rather than a sum; -1 for none. */
  maxAt: number;
  /** Whether keyId is part of the group. */
  keyed: boolean;
}

const SUMS = ['requests', 'errors', 'latencyMs', 'latencyMax', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens'] as const;
const FIRST_BUCKET = SUMS.length;
export const MINUTES_TABLE: RollupTable = { name: 'RequestLogMinute', columns: [...SUMS, ...LATENCY_COLUMNS], maxAt: 3, keyed: false };
export const KEY_MINUTES_TABLE: RollupTable = { name: 'RequestLogKeyMinute', columns: ['requests', 'errors', 'latencyMs'], maxAt: -1, keyed: true };

export interface RollupGroup {
  table: RollupTable;
  minute: number;
  upstreamId: string | null;
  /** null in RequestLogMinute. */
  keyId: string | null;
  /** In table.columns order. */
  sums: number[];
}

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
 * Sums the stored rows (id not 0) by minute and upstream, and by minute,
 * upstream and key (rows with a key). `gone`, when given, holds the referenced
 * ids that no longer exist: in the writer's safe mode a reference deleted
 * meanwhile was stored as NULL, and so it is counted.
 */
export function rollupRows(rows: readonly StoredRow[], ids: readonly number[], gone?: ReadonlySet<string>): RollupGroup[] {
  const groups = new Map<string, RollupGroup>();
  const group = (table: RollupTable, minute: number, upstreamId: string | null, keyId: string | null) => {
    const id = `${table.name}\0${minute}\0${upstreamId ?? ''}\0${keyId ?? ''}`;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { table, minute, upstreamId, keyId, sums: new Array<number>(table.columns.length).fill(0) }));
    return g.sums;
  };
  for (let i = 0; i < rows.length; i++) {
    if (ids[i] === 0) continue;
    const r = rows[i]!;
    const minute = r.createdAt - (((r.createdAt % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    const upstreamId = r.upstreamId !== null && gone?.has(r.upstreamId) ? null : r.upstreamId;
    const keyId = r.keyId !== null && gone?.has(r.keyId) ? null : r.keyId;
    const error = isError(r) ? 1 : 0;
    const s = group(MINUTES_TABLE, minute, upstreamId, null);
    s[0]++;
    s[1] += error;
    s[2] += r.latencyMs;
    if (r.latencyMs > s[3]!) s[3] = r.latencyMs;
    s[4] += r.bytesIn;
    s[5] += r.bytesOut;
    s[6] += r.promptTokens ?? 0;
    s[7] += r.completionTokens ?? 0;
    s[FIRST_BUCKET + latencyBucket(r.latencyMs)]++;
    if (keyId === null) continue;
    const k = group(KEY_MINUTES_TABLE, minute, upstreamId, keyId);
    k[0]++;
    k[1] += error;
    k[2] += r.latencyMs;
  }
  return [...groups.values()];
}

/** Row ids of recent groups, remembered by the worker; forgotten after a failed transaction (its inserts rolled back). */
export class RollupRowIds {
  private readonly ids = new Map<string, number>();
  get(g: RollupGroup): number | undefined {
    return this.ids.get(groupKey(g));
  }
  set(g: RollupGroup, id: number): void {
    // A few minutes of groups is all a steady writer needs; the rest is looked up again.
    if (this.ids.size >= 10_000) this.ids.clear();
    this.ids.set(groupKey(g), id);
  }
  clear(): void {
    this.ids.clear();
  }
}

const groupKey = (g: RollupGroup) => `${g.table.name}\0${g.minute}\0${g.upstreamId ?? ''}\0${g.keyId ?? ''}`;

/** Indexes (into table.columns) of the sums a group changes: requests always, the rest when not 0. */
export function changedColumns(g: RollupGroup): number[] {
  const out: number[] = [];
  for (let i = 0; i < g.sums.length; i++) if (i === 0 || g.sums[i] !== 0) out.push(i);
  return out;
}

/** Adds the `columns` of a group to row `id`: parameters are those sums, then the id. */
export function rollupUpdateSql(provider: 'sqlite' | 'postgres', placeholder: (n: number) => string, table: RollupTable, columns: readonly number[]): string {
  const max = provider === 'sqlite' ? 'MAX' : 'GREATEST';
  const set = columns.map((i, n) => {
    const c = table.columns[i]!;
    return i === table.maxAt ? `"${c}" = ${max}("${c}", ${placeholder(n + 1)})` : `"${c}" = "${c}" + ${placeholder(n + 1)}`;
  });
  return `UPDATE "${table.name}" SET ${set.join(', ')} WHERE "id" = ${placeholder(columns.length + 1)}`;
}

export function rollupUpdateParams(g: RollupGroup, columns: readonly number[], id: number): number[] {
  const out = columns.map((i) => g.sums[i]!);
  out.push(id);
  return out;
}

/** The id of a group's row, if it has one: parameters from rollupLookupParams. */
export function rollupLookupSql(provider: 'sqlite' | 'postgres', placeholder: (n: number) => string, table: RollupTable): string {
  const same = provider === 'sqlite' ? (c: string, p: string) => `"${c}" IS ${p}` : (c: string, p: string) => `"${c}" IS NOT DISTINCT FROM ${p}::text`;
  const key = table.keyed ? ` AND ${same('keyId', placeholder(3))}` : '';
  return `SELECT "id" FROM "${table.name}" WHERE "minute" = ${placeholder(1)} AND ${same('upstreamId', placeholder(2))}${key} LIMIT 1`;
}

export function rollupLookupParams<T>(g: RollupGroup, time: (ms: number) => T): Array<string | null | T> {
  return g.table.keyed ? [time(g.minute), g.upstreamId, g.keyId] : [time(g.minute), g.upstreamId];
}

/** A group's first row: parameters from rollupInsertParams. */
export function rollupInsertSql(placeholder: (n: number) => string, table: RollupTable, returning: boolean): string {
  const columns = [...table.columns, 'minute', 'upstreamId', ...(table.keyed ? ['keyId'] : [])];
  return `INSERT INTO "${table.name}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((_, i) => placeholder(i + 1)).join(', ')})${returning ? ' RETURNING "id"' : ''}`;
}

export function rollupInsertParams<T>(g: RollupGroup, time: (ms: number) => T): Array<number | string | null | T> {
  return [...g.sums, ...rollupLookupParams(g, time)];
}

