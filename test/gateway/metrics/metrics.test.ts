// The operator metrics: requests and errors per key under a label cap that
// holds with 5,000 keys, tokens per upstream, retries by reason, process metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/db/migrate.ts';
import { createOperatorMetrics, DEFAULT_KEY_LABEL_CAP } from '../../../src/metrics/operator-metrics.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, send } from '../proxy/support.ts';

const CAP = 100;
const KEYS = 5000;

/** `name{labels} value` lines of one metric, as [labels, value]. */
function series(text: string, name: string): Array<[Record<string, string>, number]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => {
      const [, labels, value] = /^[^{]+\{(.*)\} (\S+)$/.exec(l)!;
      return [Object.fromEntries([...labels!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])), Number(value)];
    });
}

describe('operator metrics', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;
  let upstreamId: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway({ env: { KEYRELAY_METRICS_KEY_LABELS: String(CAP) } });
    token = (await createToken(t)).token;
    upstreamId = (await createUpstream(t, mock, { name: 'big', strategy: 'ROUND_ROBIN' }, [])).id;
    const text = Array.from({ length: KEYS }, (_, i) => `sk-big-${String(i).padStart(24, '0')}`).join('\n');
    expect((await t.gateway.services.importKeys(upstreamId, text, 'LINES')).added).toBe(KEYS);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it(`per-key series stop at the cap (${CAP}) with ${KEYS} keys; the rest count under key="other"; tokens per upstream`, async () => {
    const n = 300;
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => send(t.url, { path: '/proxy/big/x', headers: bearer(token) })));
      expect(batch.every((r) => r.status === 200)).toBe(true);
    }
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const requests = series(text, 'keyrelay_key_requests_total');
    const own = requests.filter(([l]) => l.key !== 'other');
    const other = requests.filter(([l]) => l.key === 'other');
    expect(own).toHaveLength(CAP);
    expect(other).toEqual([[{ upstream: 'big', key: 'other', fingerprint: 'other' }, n - CAP]]);
    expect(requests.reduce((s, [, v]) => s + v, 0)).toBe(n);
    const known = t.gateway.state.keys.get([...t.gateway.state.upstreamsById.get(upstreamId)!.keys.keys()][0]!)!;
    expect(own.find(([l]) => l.fingerprint === known.fingerprint)?.[0]).toEqual({ upstream: 'big', key: known.name, fingerprint: known.fingerprint });
    expect(series(text, 'keyrelay_key_errors_total').reduce((s, [, v]) => s + v, 0)).toBe(0);
    // The mock reports 3 prompt and 5 completion tokens per answer.
    expect(text).toContain(`keyrelay_tokens_total{upstream="big",kind="prompt"} ${3 * n}`);
    expect(text).toContain(`keyrelay_tokens_total{upstream="big",kind="completion"} ${5 * n}`);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
  });

  it('retries by reason, and errors per key', async () => {
    const [a, b, c] = ['sk-retry-000000000000000000000001', 'sk-retry-000000000000000000000002', 'sk-retry-000000000000000000000003'];
    await createUpstream(t, mock, { name: 'flaky', strategy: 'ROUND_ROBIN', maxRetries: 2 }, [{ value: a, name: 'a' }, { value: b, name: 'b' }, { value: c, name: 'c' }]);
    mock.byKey[a] = 'status:503';
    mock.byKey[b] = 'status:429';
    mock.reset();
    for (let i = 0; i < 3; i++) expect((await send(t.url, { path: '/proxy/flaky/x', headers: bearer(token) })).status).toBe(200);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const reasons = Object.fromEntries(series(text, 'keyrelay_upstream_retries_by_reason_total').filter(([l]) => l.upstream === 'flaky').map(([l, v]) => [l.reason, v]));
    // Every answer from a or b was retried on another key (c always answers 200).
    const [hitsA, hitsB] = [mock.hitsByKey[a] ?? 0, mock.hitsByKey[b] ?? 0];
    expect(hitsA + hitsB).toBeGreaterThan(0);
    expect(reasons).toEqual({ ...(hitsA ? { status_503: hitsA } : {}), ...(hitsB ? { status_429: hitsB } : {}) });
    // Past the cap, these keys count under the upstream's own "other" series.
    expect(series(text, 'keyrelay_key_errors_total').filter(([l]) => l.upstream === 'flaky')).toEqual([[{ upstream: 'flaky', key: 'other', fingerprint: 'other' }, hitsA + hitsB]]);
    expect(mock.hitsByKey[c]).toBe(3);
  });

  it('every series the example Grafana dashboard queries is served', async () => {
    const dashboard = readFileSync(join(PROJECT_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const exprs = (JSON.parse(dashboard) as { panels: Array<{ targets: Array<{ expr: string }> }> }).panels.flatMap((p) => p.targets.map((t) => t.expr));
    const names = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:keyrelay|process|nodejs)_\w+)/g)].map((m) => m[1]!)));
    expect(names.size).toBeGreaterThan(8);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const name of names) expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
  });

  it(`the default cap (${DEFAULT_KEY_LABEL_CAP}) holds when all ${KEYS} keys see traffic`, async () => {
    const registry = new Registry();
    const metrics = createOperatorMetrics(registry, t.gateway.state);
    const keys = [...t.gateway.state.upstreamsById.get(upstreamId)!.keys.values()];
    for (let round = 0; round < 2; round++) for (const key of keys) metrics.keyAttempt(key, round === 1);
    const text = await registry.metrics();
    const requests = series(text, 'keyrelay_key_requests_total');
    expect(requests).toHaveLength(DEFAULT_KEY_LABEL_CAP + 1);
    expect(requests.find(([l]) => l.key === 'other')?.[1]).toBe(2 * (KEYS - DEFAULT_KEY_LABEL_CAP));
    expect(series(text, 'keyrelay_key_errors_total').reduce((s, [, v]) => s + v, 0)).toBe(KEYS);
  });
});
