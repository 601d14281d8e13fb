// Request-log rows as columns: the proxy's entries are copied into a chunk as
// they are queued (one short-lived object per request instead of one kept
// until the flush). A chunk crosses to the writer's worker packed: all its
// text joined into one string with the lengths in an Int32Array, the numbers
// in a Float64Array. Structured clone copies that in a few memcpys, where an
// array of strings costs a serializer step per string. The strings stay as an
// array here, for the rows published once stored.

import type { RequestLogged } from '../events/bus.ts';
import type { LogEntry, LogOutcome } from './log-entry.ts';

/** String columns, STRS per row. */
export const S_REQUEST_ID = 0;
export const S_UPSTREAM_ID = 1;
export const S_KEY_ID = 2;
export const S_TOKEN_ID = 3;
export const S_METHOD = 4;
export const S_PATH = 5;
export const S_OUTCOME = 6;
export const S_CLIENT_IP = 7;
export const S_ERROR = 8;
export const S_MODEL = 9;
export const S_MATCHED = 10;
export const S_REQUEST_BODY = 11;
export const S_RESPONSE_BODY = 12;
export const STRS = 13;

/** Number columns, NUMS per row; NaN stands for null. */
const N_CREATED_AT = 0;
const N_STATUS = 1;
const N_LATENCY = 2;
const N_OVERHEAD = 3;
const N_ATTEMPTS = 4;
const N_BYTES_IN = 5;
const N_BYTES_OUT = 6;
const N_PROMPT = 7;
const N_COMPLETION = 8;
const N_TOTAL = 9;
const N_FLAGS = 10;
const N_SECRETS = 11;
const NUMS = 12;

const F_STREAM = 1;
const F_TRUNCATED = 2;

/** What crosses to the worker. */
export interface PackedRows {
  count: number;
  /** Every non-null string column, row after row. */
  text: string;
  /** Per row, STRS lengths into `text`; -1 for null. */
  lens: Int32Array;
  nums: Float64Array;
  /** Each row's secrets in row order (a row's count is in its N_SECRETS column), in one string with their lengths. */
  secretText: string;
  secretLens: number[];
}

const NULL = -1;

const orNull = (n: number): number | null => (Number.isNaN(n) ? null : n);

/** Text a chunk holds before it counts as full, whatever its row count: rows with big logged bodies make small chunks. */
export const CHUNK_MAX_CHARS = 2 * 1024 * 1024;

export class LogChunk {
  count = 0;
  /** Characters of text held (about its bytes): bounds a chunk, and so a flush and a transaction, by size as well as rows. */
  chars = 0;
  /** The string columns, row after row (joined for the worker, read back for publishing). */
  strs: (string | null)[] = [];
  lens: Int32Array;
  nums: Float64Array;
  secrets: string[] = [];
  secretLens: number[] = [];

  constructor(readonly capacity: number) {
    this.nums = new Float64Array(capacity * NUMS);
    this.lens = new Int32Array(capacity * STRS);
  }

  /** The packed form posted to the worker (only the rows in use). */
  packed(): PackedRows {
    return {
      count: this.count,
      // join() writes null as ''; its length says null apart from ''.
      text: this.strs.join(''),
      lens: this.lens.subarray(0, this.count * STRS),
      nums: this.nums.subarray(0, this.count * NUMS),
      secretText: this.secrets.join(''),
      secretLens: this.secretLens,
    };
  }

  private addText(s: string | null, at: number): void {
    this.lens[at] = s === null ? NULL : s.length;
    if (s !== null) this.chars += s.length;
    this.strs.push(s);
  }

  get full(): boolean {
    return this.count >= this.capacity || this.chars >= CHUNK_MAX_CHARS;
  }

  /** Copies an entry in. Latency and overhead are rounded here as they are stored, so the published row equals the stored one. */
  add(e: LogEntry): void {
    const at = this.count * STRS;
    this.addText(e.requestId, at + S_REQUEST_ID);
    this.addText(e.upstreamId, at + S_UPSTREAM_ID);
    this.addText(e.keyId, at + S_KEY_ID);
    this.addText(e.accessTokenId, at + S_TOKEN_ID);
    this.addText(e.method, at + S_METHOD);
    this.addText(e.path, at + S_PATH);
    this.addText(e.outcome, at + S_OUTCOME);
    this.addText(e.clientIp, at + S_CLIENT_IP);
    this.addText(e.error, at + S_ERROR);
    this.addText(e.model, at + S_MODEL);
    this.addText(e.matchedRules, at + S_MATCHED);
    this.addText(e.requestBody, at + S_REQUEST_BODY);
    this.addText(e.responseBody, at + S_RESPONSE_BODY);
    for (const secret of e.secrets) {
      this.secrets.push(secret);
      this.secretLens.push(secret.length);
    }
    const n = this.nums;
    const o = this.count * NUMS;
    n[o + N_CREATED_AT] = e.createdAt;
    n[o + N_STATUS] = e.status;
    n[o + N_LATENCY] = Math.round(e.latencyMs);
    n[o + N_OVERHEAD] = Math.round(e.overheadMs * 1000) / 1000;
    n[o + N_ATTEMPTS] = e.attempts;
    n[o + N_BYTES_IN] = e.bytesIn;
    n[o + N_BYTES_OUT] = e.bytesOut;
    const usage = e.usage;
    n[o + N_PROMPT] = usage === null ? NaN : usage.promptTokens;
    n[o + N_COMPLETION] = usage === null ? NaN : usage.completionTokens;
    n[o + N_TOTAL] = usage === null ? NaN : usage.totalTokens;
    n[o + N_FLAGS] = (e.stream ? F_STREAM : 0) | (e.bodyTruncated ? F_TRUNCATED : 0);
    n[o + N_SECRETS] = e.secrets.length;
    this.count++;
  }

  /** Removes the oldest `n` rows (queue overflow: rare, so a copy is fine). */
  dropFirst(n: number): void {
    if (n >= this.count) {
      this.count = 0;
      this.chars = 0;
      this.strs = [];
      this.secrets = [];
      this.secretLens = [];
      return;
    }
    let secrets = 0;
    for (let i = 0; i < n; i++) secrets += this.nums[i * NUMS + N_SECRETS];
    for (let k = 0; k < n * STRS; k++) this.chars -= textLength(this.lens[k]);
    this.strs.splice(0, n * STRS);
    this.lens.copyWithin(0, n * STRS, this.count * STRS);
    this.secrets.splice(0, secrets);
    this.secretLens.splice(0, secrets);
    this.nums.copyWithin(0, n * NUMS, this.count * NUMS);
    this.count -= n;
  }

  /** A referenced row deleted since the request must not fail the batch on a foreign key: those ids become null. */
  detach(isLive: (column: number, id: string) => boolean): void {
    for (let i = 0; i < this.count; i++) {
      const o = i * STRS;
      for (const c of ID_COLUMNS) {
        const id = this.strs[o + c];
        if (id !== null && !isLive(c, id)) {
          this.strs[o + c] = null;
          this.lens[o + c] = NULL;
        }
      }
    }
  }
}

/** Characters a length entry takes in the text. */
function textLength(len: number): number {
  return len >= 0 ? len : 0;
}

const ID_COLUMNS = [S_UPSTREAM_ID, S_KEY_ID, S_TOKEN_ID];

/** Every row of a packed chunk as an entry, in order. */
export function unpackEntries(p: PackedRows): LogEntry[] {
  const out: LogEntry[] = new Array(p.count);
  const lens = p.lens;
  const n = p.nums;
  const row: (string | null)[] = new Array(STRS);
  let textAt = 0;
  let secretIndex = 0;
  let secretAt = 0;
  for (let i = 0; i < p.count; i++) {
    for (let c = 0; c < STRS; c++) {
      const len = lens[i * STRS + c];
      row[c] = len >= 0 ? p.text.slice(textAt, textAt + len) : null;
      textAt += textLength(len);
    }
    const o = i * NUMS;
    const secrets: string[] = [];
    for (let k = 0; k < n[o + N_SECRETS]; k++) {
      const len = p.secretLens[secretIndex++];
      secrets.push(p.secretText.slice(secretAt, secretAt + len));
      secretAt += len;
    }
    const prompt = orNull(n[o + N_PROMPT]);
    out[i] = {
      createdAt: n[o + N_CREATED_AT],
      requestId: row[S_REQUEST_ID]!,
      upstreamId: row[S_UPSTREAM_ID],
      keyId: row[S_KEY_ID],
      accessTokenId: row[S_TOKEN_ID],
      method: row[S_METHOD]!,
      path: row[S_PATH]!,
      status: n[o + N_STATUS],
      outcome: row[S_OUTCOME] as LogOutcome,
      latencyMs: n[o + N_LATENCY],
      overheadMs: n[o + N_OVERHEAD],
      attempts: n[o + N_ATTEMPTS],
      bytesIn: n[o + N_BYTES_IN],
      bytesOut: n[o + N_BYTES_OUT],
      clientIp: row[S_CLIENT_IP],
      error: row[S_ERROR],
      model: row[S_MODEL],
      stream: (n[o + N_FLAGS] & F_STREAM) !== 0,
      usage: prompt === null ? null : { promptTokens: prompt, completionTokens: n[o + N_COMPLETION], totalTokens: n[o + N_TOTAL] },
      matchedRules: row[S_MATCHED],
      requestBody: row[S_REQUEST_BODY],
      responseBody: row[S_RESPONSE_BODY],
      bodyTruncated: (n[o + N_FLAGS] & F_TRUNCATED) !== 0,
      secrets,
    };
  }
  return out;
}

/**
 * Row `i` as published, from the main thread's copy: the columns as queued,
 * with the free-text values the worker changed (redacted, clipped) taken from
 * `changed` (column -> stored value). Secrets never reach it.
 */
export function publishedRow(p: LogChunk, i: number, id: number, changed: Map<number, string | null> | undefined): RequestLogged {
  const s = p.strs;
  const n = p.nums;
  const so = i * STRS;
  const o = i * NUMS;
  const text = (c: number) => (changed !== undefined && changed.has(c) ? changed.get(c)! : s[so + c]);
  return {
    id,
    createdAt: n[o + N_CREATED_AT],
    requestId: s[so + S_REQUEST_ID]!,
    upstreamId: s[so + S_UPSTREAM_ID],
    keyId: s[so + S_KEY_ID],
    accessTokenId: s[so + S_TOKEN_ID],
    method: s[so + S_METHOD]!,
    path: text(S_PATH)!,
    status: n[o + N_STATUS],
    outcome: s[so + S_OUTCOME]!,
    latencyMs: n[o + N_LATENCY],
    overheadMs: n[o + N_OVERHEAD],
    attempts: n[o + N_ATTEMPTS],
    bytesIn: n[o + N_BYTES_IN],
    bytesOut: n[o + N_BYTES_OUT],
    clientIp: s[so + S_CLIENT_IP],
    error: text(S_ERROR),
    model: text(S_MODEL),
    stream: (n[o + N_FLAGS] & F_STREAM) !== 0,
    promptTokens: orNull(n[o + N_PROMPT]),
    completionTokens: orNull(n[o + N_COMPLETION]),
    totalTokens: orNull(n[o + N_TOTAL]),
    matchedRules: s[so + S_MATCHED],
    requestBody: text(S_REQUEST_BODY),
    responseBody: text(S_RESPONSE_BODY),
    bodyTruncated: (n[o + N_FLAGS] & F_TRUNCATED) !== 0,
  };
}
