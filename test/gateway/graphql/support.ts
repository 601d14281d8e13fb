// Helpers for the admin API suites: fast log seeding, subscription clients
// (graphql-ws over a real WebSocket, SSE over fetch), and a wait for the
// server side of a subscription to be listening.
import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { EventBus, EventMap, RequestLogged } from '../../../src/events/bus.ts';
import type { Gateway } from '../../../src/gateway.ts';
import { rollupBackfillSql } from '../../../src/logs/log-rollup-backfill.ts';
import { ADMIN_TOKEN } from '../../support/gateway.ts';

export interface SeedLog {
  createdAt: number;
  upstreamId?: string | null;
  keyId?: string | null;
  accessTokenId?: string | null;
  path?: string;
  status?: number;
  latencyMs?: number;
  error?: string | null;
  matchedRules?: string | null;
}

const COLUMNS = ['createdAt', 'requestId', 'upstreamId', 'keyId', 'accessTokenId', 'method', 'path', 'status', 'outcome', 'latencyMs', 'error', 'matchedRules'];

/**
 * Inserts log rows with multi-row INSERTs in one transaction (10,000 rows in
 * well under a second), and rebuilds the per-minute rollups of the minutes
 * they fall in (the log writer keeps them as it stores; this bypasses it).
 */
export async function seedLogs(gateway: Gateway, rows: SeedLog[]): Promise<void> {
  const { sql } = gateway.db;
  const statements = [];
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const values = chunk.map(() => `(${COLUMNS.map(() => '?').join(', ')})`).join(', ');
    const params = chunk.flatMap((r, j) => [
      sql.time(r.createdAt),
      `seed-${i + j}`,
      r.upstreamId ?? null,
      r.keyId ?? null,
      r.accessTokenId ?? null,
      'POST',
      r.path ?? '/v1/chat/completions',
      r.status ?? 200,
      (r.status ?? 200) < 400 && !r.error ? 'ok' : 'upstream_error',
      r.latencyMs ?? 10,
      r.error ?? null,
      r.matchedRules ?? null,
    ]);
    statements.push({ sql: `INSERT INTO "RequestLog" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${values}`, params });
  }
  if (rows.length) {
    let first = Infinity;
    let last = -Infinity;
    for (const r of rows) (first = Math.min(first, r.createdAt)), (last = Math.max(last, r.createdAt));
    const lo = sql.time(first - (first % 60_000));
    const hi = sql.time(last - (last % 60_000) + 60_000);
    for (const table of ['RequestLogMinute', 'RequestLogKeyMinute']) statements.push({ sql: `DELETE FROM "${table}" WHERE "minute" >= ? AND "minute" < ?`, params: [lo, hi] });
    for (const rebuild of rollupBackfillSql(sql.provider, `"createdAt" >= ? AND "createdAt" < ?`)) statements.push({ sql: rebuild, params: [lo, hi] });
  }
  await sql.transaction(statements);
}

/**
 * Resolves once the server has subscribed to `topic` (or to each of several
 * topics) on the bus: the subscription resolver ran and its listener is
 * registered, so a test can publish without sleeping and without racing.
 */
export function subscribed(events: EventBus, topic: keyof EventMap | Array<keyof EventMap>): Promise<void> {
  const original = events.subscribe;
  const waiting = new Set(Array.isArray(topic) ? topic : [topic]);
  return new Promise((resolve) => {
    events.subscribe = ((...args: Parameters<EventBus['subscribe']>) => {
      const iterator = original.apply(events, args);
      if (waiting.delete(args[0]) && waiting.size === 0) {
        events.subscribe = original;
        // The bounded iterator pulls at once; its listener is in place after this tick.
        setImmediate(resolve);
      }
      return iterator;
    }) as EventBus['subscribe'];
  });
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/** A graphql-ws client over the `ws` package, authenticated in connection_init. */
export function wsClient(httpUrl: string, token: string | null = ADMIN_TOKEN, opts: { onClose?: (code: number, reason: string) => void } = {}): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => opts.onClose?.((event as { code: number }).code, String((event as { reason?: unknown }).reason ?? '')) },
  });
}

type Doc<R, V> = TypedDocumentNode<R, V> | DocumentNode | string;
const text = <R, V>(doc: Doc<R, V>) => (typeof doc === 'string' ? doc : print(doc));

/** Raw frames from an SSE response (Yoga's distinct-connection mode): each `event` with its parsed `data`. */
export async function* sseEvents(res: Response): AsyncGenerator<{ event: string; data: unknown; raw: string }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (!data.length && event === 'message') continue; // keep-alive comment
        yield { event, data: data.length ? JSON.parse(data.join('\n')) : null, raw: frame };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Opens an SSE subscription (POST with a JSON body, as GraphiQL and graphql-sse do). */
export function sseSubscribe<R, V>(httpUrl: string, doc: Doc<R, V>, variables?: V, signal?: AbortSignal, token: string | null = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: text(doc), variables }),
    signal,
  });
}

/** A RequestLogged payload as the log writer publishes it, for unit-level subscription tests. */
export function logEvent(over: Partial<RequestLogged> & { id: number }): RequestLogged {
  return {
    createdAt: Date.now(),
    requestId: `req-${over.id}`,
    upstreamId: null,
    keyId: null,
    accessTokenId: null,
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    outcome: 'ok',
    latencyMs: 12,
    overheadMs: 0.4,
    attempts: 1,
    bytesIn: 10,
    bytesOut: 20,
    clientIp: '127.0.0.1',
    error: null,
    model: null,
    stream: false,
    promptTokens: null,
    completionTokens: null,
    totalTokens: null,
    matchedRules: null,
    requestBody: null,
    responseBody: null,
    bodyTruncated: false,
    ...over,
  };
}

/** A selection `depth` levels deep alternating Upstream.rules and Rule.upstream (or ApiKey.upstream), starting with `first`. */
export function deepSelection(depth: number, first: 'rules' | 'upstream'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const field = i % 2 === 0 ? first : first === 'rules' ? 'upstream' : 'rules';
    open += `${field} { `;
    close += ' }';
  }
  return `${open}id${close}`;
}
