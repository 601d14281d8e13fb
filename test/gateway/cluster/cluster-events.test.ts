// Issue #18's acceptance for events across instances: two (then three)
// cluster-mode instances as child processes of the built gateway (build
// first) on one fresh PostgreSQL database and the machine's Redis.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../support/cluster-instances.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { startTcpRelay } from '../../support/tcp-relay.ts';
import { chat, createUpstream, median, setKeyStatus, until, watch } from './support.ts';

const LOGGED = 'subscription($u: ID) { requestLogged(upstreamId: $u) { requestId status } }';
const KEYS = 'subscription($u: ID) { keyStateChanged(upstreamId: $u) { keyId from to actor } }';

describe('events and state across instances', () => {
  let cluster: TestCluster;
  let mock: MockUpstream;
  let A: string;
  let B: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    cluster = await startTestCluster(2);
    [A, B] = cluster.instances.map((i) => i.url) as [string, string];
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    await mock?.close();
  });

  it('setKeyStatus(DISABLED) on A: B stops using that key within 100 ms (median of five, measured through B)', async () => {
    const { keyIds, token } = await createUpstream(A, 'solo', `${mock.url}/v1`, ['sk-solo-only']);
    // B learns the new upstream and key by event.
    await until(async () => (await chat(B, 'solo', token)) === 200, 'B to serve the upstream created on A');
    const figures: Array<{ lowerMs: number; upperMs: number; afterA: [number, number] }> = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      // Requests through A and through B, each one after the other, while A disables the only key.
      let t0 = Infinity;
      const run = async (url: string) => {
        const results: Array<{ sent: number; done: number; status: number }> = [];
        while (performance.now() - t0 <= 500) {
          const sent = performance.now();
          const status = await chat(url, 'solo', token);
          results.push({ sent, done: performance.now(), status });
        }
        return results;
      };
      const loops = Promise.all([run(A), run(B)]);
      await new Promise((r) => setTimeout(r, 50));
      await setKeyStatus(A, keyIds[0]!, 'DISABLED');
      t0 = performance.now();
      const [onA, onB] = await loops;
      const switched = (results: typeof onA) => {
        const lastServed = results.findLastIndex((r) => r.status === 200);
        const afterwards = results.slice(lastServed + 1);
        expect(afterwards.length, 'the disabled key was used to the end').toBeGreaterThan(0);
        expect(afterwards.every((r) => r.status === 503)).toBe(true);
        // The switch came after the last served request was sent and before the first refused one came back.
        return { after: lastServed >= 0 ? results[lastServed]!.sent : -Infinity, before: afterwards[0]!.done };
      };
      const a = switched(onA);
      const b = switched(onB);
      // Often B has switched before A's answer arrives (A publishes before it answers): then the bound is 0.
      figures.push({ lowerMs: Math.max(0, b.after - t0), upperMs: Math.max(0, b.before - t0), afterA: [b.after - a.before, b.before - a.after] });
      await setKeyStatus(A, keyIds[0]!, 'ACTIVE');
      await until(async () => (await chat(A, 'solo', token)) === 200 && (await chat(B, 'solo', token)) === 200, 'A and B to use the key again');
    }
    const upper = median(figures.map((f) => f.upperMs));
    console.log(
      `B stopped using the key ${figures.map((f) => `${f.lowerMs.toFixed(1)}..${f.upperMs.toFixed(1)}`).join(', ')} ms after setKeyStatus returned on A (median upper bound ${upper.toFixed(1)} ms); ` +
        `B's switch minus A's own: ${figures.map((f) => `${f.afterA[0].toFixed(1)}..${f.afterA[1].toFixed(1)}`).join(', ')} ms (bounds as wide as a request on each)`,
    );
    expect(upper).toBeLessThan(100);
  }, 120_000);

  it('a graphql-ws subscriber on A sees every request sent through B (and A) exactly once, and key changes made on B once', async () => {
    const { upstreamId, keyIds, token } = await createUpstream(A, 'watched', `${mock.url}/v1`, ['sk-watched-a', 'sk-watched-b']);
    await until(async () => (await chat(B, 'watched', token)) === 200, 'B to serve the upstream created on A');
    const logs = watch<{ requestId: string; status: number }>(A, LOGGED, 'requestLogged', { u: upstreamId });
    const keys = watch<{ keyId: string; to: string }>(A, KEYS, 'keyStateChanged', { u: upstreamId });
    try {
      // B learns that A listens (and starts sending B's rows) within moments of the subscription.
      let n = 0;
      await until(async () => {
        await chat(B, 'watched', token, `warm-${n++}`);
        return logs.seen.some((l) => l.requestId.startsWith('warm-'));
      }, 'the first row from B on A');
      const ids = [...Array.from({ length: 200 }, (_, i) => `via-b-${i}`), ...Array.from({ length: 50 }, (_, i) => `via-a-${i}`)];
      for (let i = 0; i < ids.length; i += 25) {
        await Promise.all(ids.slice(i, i + 25).map((id) => chat(id.startsWith('via-b') ? B : A, 'watched', token, id).then((s) => expect(s).toBe(200))));
      }
      await until(() => ids.every((id) => logs.seen.some((l) => l.requestId === id)), 'every request on A');
      await setKeyStatus(B, keyIds[1]!, 'DISABLED');
      await setKeyStatus(B, keyIds[1]!, 'ACTIVE');
      await until(() => keys.seen.length >= 2, 'both key changes made on B');
      // Anything duplicated would have arrived by now.
      await new Promise((r) => setTimeout(r, 1000));
      const counts = new Map<string, number>();
      for (const l of logs.seen) counts.set(l.requestId, (counts.get(l.requestId) ?? 0) + 1);
      expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
      expect([...counts.values()].every((c) => c === 1)).toBe(true);
      expect(keys.seen).toEqual([expect.objectContaining({ keyId: keyIds[1], to: 'DISABLED' }), expect.objectContaining({ keyId: keyIds[1], to: 'ACTIVE' })]);
    } finally {
      logs.stop();
      keys.stop();
    }
  }, 120_000);

  it('with Redis cut mid-traffic the instance serves within every deadline, and after reconnection events resume and what it missed is applied', async () => {
    const relay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(REDIS_URL).port || 6379) });
    const { upstreamId, keyIds, token } = await createUpstream(A, 'cut', `${mock.url}/v1`, ['sk-cut-a', 'sk-cut-b'], { deadlineMs: 2000 });
    const C = (await cluster.start({ KEYRELAY_REDIS_URL: relay.url(REDIS_URL) })).url;
    const logs = watch<{ requestId: string; status: number }>(A, LOGGED, 'requestLogged', { u: upstreamId });
    const readyz = async () => ((await (await fetch(`${C}/readyz`)).json()) as { checks: { redis: string } }).checks.redis;
    try {
      let n = 0;
      await until(async () => {
        await chat(C, 'cut', token, `c-warm-${n++}`);
        return logs.seen.some((l) => l.requestId.startsWith('c-warm-'));
      }, 'the first row from C on A');
      // Traffic through C for the whole outage, four at a time, each timed.
      const slow: number[] = [];
      const failed: number[] = [];
      let stop = false;
      let sent = 0;
      const traffic = Promise.all(Array.from({ length: 4 }, async () => {
        while (!stop) {
          const started = performance.now();
          const status = await chat(C, 'cut', token, `c-${sent++}`);
          if (status !== 200) failed.push(status);
          if (performance.now() - started > 2000) slow.push(performance.now() - started);
        }
      }));
      await new Promise((r) => setTimeout(r, 300));
      relay.cut();
      await until(async () => (await readyz()) === 'degraded', 'C to see Redis gone', 10_000);
      // Missed by C: only the reload after the outage can tell it.
      await setKeyStatus(A, keyIds[0]!, 'DISABLED');
      const duringOutage = sent;
      await new Promise((r) => setTimeout(r, 1500));
      expect(sent - duringOutage, 'C kept serving while Redis was cut').toBeGreaterThan(10);
      relay.restore();
      await until(async () => (await readyz()) === 'ok', 'C to reconnect', 20_000);
      const hitsBefore = mock.hitsByKey['sk-cut-a'] ?? 0;
      await until(async () => {
        const before = mock.hitsByKey['sk-cut-a'] ?? 0;
        for (let i = 0; i < 4; i++) await chat(C, 'cut', token);
        return (mock.hitsByKey['sk-cut-a'] ?? 0) === before;
      }, 'C to stop using the key disabled during the outage');
      stop = true;
      await traffic;
      expect(failed).toEqual([]);
      expect(slow).toEqual([]);
      // Events from C reach A again.
      await chat(C, 'cut', token, 'c-after-outage');
      await until(() => logs.seen.some((l) => l.requestId === 'c-after-outage'), 'a row from C on A after the outage');
      expect(hitsBefore).toBeGreaterThan(0);
      // C's rows for A's dashboard during the outage were dropped and counted, not queued.
      const metrics = await (await fetch(`${C}/metrics`)).text();
      expect(Number(/keyrelay_cluster_events_total\{direction="dropped"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(Number(/keyrelay_cluster_events_total\{direction="sent"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      logs.stop();
      await relay.close();
    }
  }, 120_000);
});
