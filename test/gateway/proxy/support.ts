// Shared setup for the proxy suites: upstreams, keys and tokens created
// through the admin API, raw HTTP requests to the gateway, and the stored
// request-log rows (flushed first).

import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { graphql } from '../../generated/index.ts';
import type { TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import type { MockUpstream } from '../../support/mock-upstream.ts';
import type { CreateUpstreamInput, NewKeyInput } from '../../generated/graphql.ts';

const ProxyCreateUpstream = graphql(`mutation ProxyCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name } }`);
const ProxyAddKeys = graphql(`mutation ProxyAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id name } }`);
const ProxyCreateToken = graphql(`mutation ProxyCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token accessToken { id } } }`);

export const canaryKey = () => `sk-canary-${randomUUID()}`;

export interface TestUpstream {
  id: string;
  name: string;
  /** Key value -> key id. */
  keyIds: Record<string, string>;
}

/** Fast retries by default, so failure tests stay quick. */
export async function createUpstream(t: TestGateway, mock: MockUpstream | string, input: Partial<CreateUpstreamInput> & { name: string }, keys: NewKeyInput[]): Promise<TestUpstream> {
  const baseUrl = typeof mock === 'string' ? mock : mock.url;
  const created = await gqlOk(t.url, ProxyCreateUpstream, { input: { baseUrl, retryBaseMs: 1, retryMaxMs: 5, ...input } });
  const id = created.createUpstream.id;
  const keyIds: Record<string, string> = {};
  if (keys.length > 0) {
    const added = await gqlOk(t.url, ProxyAddKeys, { upstreamId: id, keys });
    keys.forEach((k, i) => (keyIds[k.value] = added.addKeys[i].id));
  }
  return { id, name: input.name, keyIds };
}

export async function createToken(t: TestGateway, upstreamIds: string[] = []): Promise<{ token: string; id: string }> {
  const created = await gqlOk(t.url, ProxyCreateToken, { input: { name: `t-${randomUUID().slice(0, 8)}`, upstreamIds } });
  return { token: created.createAccessToken.token, id: created.createAccessToken.accessToken.id };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh connection, with raw control of the path and headers. */
export function send(base: string, opts: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string | Buffer }): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export type LogRow = Record<string, unknown> & { id: number; requestId: string; status: number; outcome: string; attempts: number; keyId: string | null };

/** Every stored request-log row (after a flush), oldest first; optionally for one request id. */
export async function logRows(t: TestGateway, requestId?: string): Promise<LogRow[]> {
  await t.gateway.logs.flush();
  const sql = 'SELECT * FROM "RequestLog"' + (requestId ? ' WHERE "requestId" = ?' : '') + ' ORDER BY "id"';
  return t.gateway.db.sql.query<LogRow>(sql, requestId ? [requestId] : []);
}

/** Resolves once the log writer stored (and published) a row for this request id. */
export function waitForLog(t: TestGateway, requestId: string): Promise<LogRow> {
  return (async () => {
    for await (const row of t.gateway.events.subscribe('requestLog:created')) {
      if (row.requestId === requestId) return row as unknown as LogRow;
    }
    throw new Error('event stream ended');
  })();
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
