// Setup for the cluster counting suites: upstreams, keys, rules, limits and
// tokens created through one instance's admin API (before the others start,
// so they load them at boot), and requests spread over the instances.

import { request as httpRequest, Agent } from 'node:http';
import { gqlOk } from '../../support/graphql-client.ts';

export async function admin<T = Record<string, any>>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  return gqlOk<T, Record<string, unknown>>(url, query, variables);
}

export async function seedUpstream(url: string, input: Record<string, unknown>, keys: Array<{ value: string; quota?: number }>): Promise<{ id: string; keyIds: string[] }> {
  const up = await admin(url, 'mutation($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }', { input: { retryBaseMs: 1, retryMaxMs: 5, ...input } });
  const id = up.createUpstream.id as string;
  const added = await admin(url, 'mutation($id: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $id, keys: $keys) { id } }', { id, keys });
  return { id, keyIds: added.addKeys.map((k: { id: string }) => k.id) };
}

export async function seedToken(url: string): Promise<string> {
  const created = await admin(url, 'mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }', { input: { name: `t-${Date.now()}` } });
  return created.createAccessToken.token as string;
}

export async function keyOn(url: string, id: string): Promise<{ used: number; status: string }> {
  const data = await admin(url, 'query($id: ID!) { key(id: $id) { used status } }', { id });
  return data.key;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface Reply {
  status: number;
  body: string;
  ms: number;
}

export function proxied(base: string, path: string, token: string, headers: Record<string, string> = {}): Promise<Reply> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'GET', path, headers: { authorization: `Bearer ${token}`, ...headers }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests at once, the i-th through instance i mod n. */
export function spread(urls: string[], count: number, path: string, token: string, headers?: Record<string, string>): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => proxied(urls[i % urls.length], path, token, headers)));
}

export function countBy<T>(items: T[], key: (item: T) => string | number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
