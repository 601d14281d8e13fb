// Helpers for the cluster acceptance suites: an upstream with keys and a
// proxy token made through one instance's API, proxied requests, and a
// graphql-ws subscription that collects what it receives.
import type { Client } from 'graphql-ws';
import { gqlOk } from '../../support/graphql-client.ts';
import { wsClient } from '../graphql/support.ts';

export interface Setup {
  upstreamId: string;
  keyIds: string[];
  token: string;
}

/** An upstream named `name` with one key per value, and a proxy access token, created through `url`. */
export async function createUpstream(url: string, name: string, baseUrl: string, keys: string[], extra: Record<string, unknown> = {}): Promise<Setup> {
  const up = await gqlOk<{ createUpstream: { id: string } }, unknown>(url, 'mutation($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }', {
    input: { name, baseUrl, maxRetries: 0, ...extra },
  });
  const upstreamId = up.createUpstream.id;
  const added = await gqlOk<{ addKeys: Array<{ id: string }> }, unknown>(url, 'mutation($u: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $u, keys: $keys) { id } }', {
    u: upstreamId,
    keys: keys.map((value, i) => ({ value, name: `k${i}` })),
  });
  const token = (await gqlOk<{ createAccessToken: { token: string } }, unknown>(url, 'mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }', { input: { name: `${name}-token` } })).createAccessToken.token;
  return { upstreamId, keyIds: added.addKeys.map((k) => k.id), token };
}

export function setKeyStatus(url: string, id: string, status: 'ACTIVE' | 'DISABLED'): Promise<unknown> {
  return gqlOk(url, 'mutation($id: ID!, $status: KeyStatus!) { setKeyStatus(id: $id, status: $status) { id status } }', { id, status });
}

/** One proxied chat request; resolves with its status (the body is read to the end). */
export async function chat(url: string, upstream: string, token: string, requestId?: string): Promise<number> {
  const res = await fetch(`${url}/proxy/${upstream}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

export interface Watch<T> {
  seen: T[];
  stop(): void;
}

/** A graphql-ws subscription on `url` that keeps every payload of `field`. */
export function watch<T>(url: string, query: string, field: string, variables: Record<string, unknown> = {}): Watch<T> & { client: Client } {
  const client = wsClient(url);
  const seen: T[] = [];
  const stop = client.subscribe<Record<string, T>>({ query, variables }, {
    next: (msg) => {
      if (msg.data) seen.push(msg.data[field]!);
    },
    error: (error) => {
      throw new Error(`subscription failed: ${JSON.stringify(error)}`);
    },
    complete: () => {},
  });
  return {
    client,
    seen,
    stop() {
      stop();
      void client.dispose();
    },
  };
}

/** Polls until `check` holds (generous: the machine is shared), else throws with `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
