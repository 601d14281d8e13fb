import { Agent, request } from 'undici';
import { graphql } from '../../../generated/index.ts';
import { gqlOk } from '../../../support/graphql-client.ts';
import type { MockUpstream } from '../../../support/mock-upstream.ts';

const JobsLoadCreateUpstream = graphql(`mutation JobsLoadCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const JobsLoadAddKeys = graphql(`mutation JobsLoadAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const JobsLoadCreateToken = graphql(`mutation JobsLoadCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }`);

/** An upstream on the mock with a few keys, and a client token for the proxy. */
export async function proxyTarget(url: string, mock: MockUpstream, name: string): Promise<{ path: string; token: string }> {
  const { createUpstream } = await gqlOk(url, JobsLoadCreateUpstream, { input: { name, baseUrl: `${mock.url}/v1` } });
  await gqlOk(url, JobsLoadAddKeys, { upstreamId: createUpstream.id, keys: [1, 2, 3].map((i) => ({ value: `sk-load-${name}-${i}-0000000000000000`, name: `load-${i}` })) });
  const { createAccessToken } = await gqlOk(url, JobsLoadCreateToken, { input: { name: `load-${name}` } });
  return { path: `/proxy/${name}/v1/chat/completions`, token: createAccessToken.token };
}

export interface LoadResult {
  requests: number;
  /** Responses other than 200, and transport errors, with what they were. */
  failures: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Closed-loop load through the proxy: `concurrency` clients each send the
 * next chat request when the last one is answered, until stop(). Every
 * non-200 answer or transport error is recorded.
 */
export function startProxyLoad(baseUrl: string, target: { path: string; token: string }, concurrency = 8) {
  const dispatcher = new Agent({ connections: concurrency });
  const latencies: number[] = [];
  const failures: string[] = [];
  let running = true;
  const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  const client = async () => {
    while (running) {
      const began = performance.now();
      try {
        const res = await request(`${baseUrl}${target.path}`, {
          method: 'POST',
          dispatcher,
          headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
          body,
        });
        await res.body.dump();
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
      } catch (error) {
        failures.push((error as Error).message);
      }
      latencies.push(performance.now() - began);
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  return {
    /** How many requests have been answered so far. */
    get count() {
      return latencies.length;
    },
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(clients);
      await dispatcher.close();
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
      return { requests: sorted.length, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}
