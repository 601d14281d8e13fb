// Issue 18's acceptance for shared rate limits and Redis outages: a limit
// shared by two instances admits exactly its limit; with Redis cut (a TCP
// relay) an instance keeps serving with local counters, every request
// answered within its deadline. `npm run -s build` first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type ClusterInstance, type TestCluster } from '../../support/cluster-instances.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { startTcpRelay, type TcpRelay } from '../../support/tcp-relay.ts';
import { admin, countBy, proxied, seedToken, seedUpstream, spread } from './counts-support.ts';

const DEADLINE_MS = 3000;

describe('rate limits across instances, and a Redis outage', () => {
  let cluster: TestCluster;
  let mock: MockUpstream;
  let relay: TcpRelay;
  let token: string;
  let a: ClusterInstance;
  let b: ClusterInstance;
  /** Reaches Redis through the relay. */
  let cut: ClusterInstance;

  beforeAll(async () => {
    mock = await startMockUpstream();
    relay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(REDIS_URL).port || 6379) });
    cluster = await startTestCluster(1);
    a = cluster.instances[0];
    const limited = await seedUpstream(a.url, { name: 'limited', baseUrl: mock.url }, [{ value: 'sk-cluster-limit-00000000000000000001' }]);
    await admin(a.url, 'mutation($input: CreateRateLimitInput!) { createRateLimit(input: $input) { id } }', { input: { scope: 'UPSTREAM', targetId: limited.id, requests: 20, perSeconds: 600 } });
    const served = await seedUpstream(a.url, { name: 'served', baseUrl: mock.url, deadlineMs: DEADLINE_MS, maxRetries: 0 }, [
      { value: 'sk-cluster-served-0000000000000000001', quota: 100_000 },
      { value: 'sk-cluster-served-0000000000000000002' },
    ]);
    await admin(a.url, 'mutation($input: CreateRateLimitInput!) { createRateLimit(input: $input) { id } }', { input: { scope: 'UPSTREAM', targetId: served.id, requests: 100_000, perSeconds: 60, concurrent: 1000 } });
    await admin(a.url, 'mutation($input: CreateRuleInput!) { createRule(input: $input) { id } }', {
      input: { upstreamId: served.id, name: 'three 500s', condition: { status: { min: 500 } }, actions: ['DISABLE_KEY'], threshold: 3, windowSeconds: 60, disableForSeconds: 60 },
    });
    token = await seedToken(a.url);
    b = await cluster.start();
    cut = await cluster.start({ KEYRELAY_REDIS_URL: relay.url(REDIS_URL) });
  }, 90_000);
  afterAll(async () => {
    await cluster?.close();
    await relay?.close();
    await mock?.close();
  });

  it('a limit of 20 requests shared by two instances admits exactly 20 of 100 concurrent requests', async () => {
    mock.reset();
    const replies = await spread([a.url, b.url], 100, '/proxy/limited/v1/x', token);
    expect(countBy(replies, (r) => r.status)).toEqual({ 200: 20, 429: 80 });
    expect(mock.hits).toBe(20);
    // Both instances refused some: the count is the cluster's, not each instance's.
    expect(replies.filter((r, i) => i % 2 === 0 && r.status === 429).length).toBeGreaterThan(0);
    expect(replies.filter((r, i) => i % 2 === 1 && r.status === 429).length).toBeGreaterThan(0);
  }, 60_000);

  it('with Redis cut, an instance keeps serving with local counters, each request within its deadline, and logs the outage once', async () => {
    const ready = async () => (await (await fetch(`${cut.url}/readyz`)).json()).checks.redis;
    expect(await ready()).toBe('ok');
    // Through Redis first: the limit, the rule and the quota all apply.
    expect((await spread([cut.url], 20, '/proxy/served/v1/x', token)).every((r) => r.status === 200)).toBe(true);

    relay.cut();
    // Requests sent the moment Redis goes, before the instance noticed, too.
    const during = await spread([cut.url], 200, '/proxy/served/v1/x', token);
    expect(countBy(during, (r) => r.status)).toEqual({ 200: 200 });
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(DEADLINE_MS);
    await expect.poll(ready, { timeout: 5000 }).toBe('degraded');
    const more = await spread([cut.url], 200, '/proxy/served/v1/x', token);
    expect(countBy(more, (r) => r.status)).toEqual({ 200: 200 });

    relay.restore();
    await expect.poll(ready, { timeout: 15_000 }).toBe('ok');
    const after = await spread([cut.url], 20, '/proxy/served/v1/x', token);
    expect(after.every((r) => r.status === 200)).toBe(true);
    // No log line per request: the connection module's outage lines only.
    const redisLines = cut.process.stdout().split('\n').filter((l) => /redis/i.test(l));
    expect(redisLines.length, redisLines.join('\n')).toBeLessThan(6);
  }, 90_000);
});
