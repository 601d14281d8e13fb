// /metrics, and the log queue's bound when the database falls behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from './support.ts';

describe('metrics and the bounded log queue', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    // A flush interval longer than the test, so only the queue bound decides what is kept.
    t = await startTestGateway({ env: { KEYRELAY_LOG_QUEUE_MAX: '100', KEYRELAY_LOG_FLUSH_MS: '60000' } });
    await createUpstream(t, mock, { name: 'm' }, [{ value: 'sk-metrics-00000000000000000000001' }, { value: 'sk-metrics-00000000000000000000002' }]);
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('drops the oldest rows past KEYRELAY_LOG_QUEUE_MAX, counts and warns, and keeps serving', async () => {
    for (let i = 0; i < 130; i++) {
      const res = await send(t.url, { path: '/proxy/m/x', headers: { ...bearer(token), 'x-request-id': `q-${i}` } });
      expect(res.status).toBe(200);
    }
    expect(t.gateway.logs.depth).toBeLessThanOrEqual(100);
    expect(t.gateway.logs.dropped).toBeGreaterThanOrEqual(30);
    expect(t.logLines.some((l) => l.includes('request log queue full'))).toBe(true);
    const rows = await logRows(t);
    expect(rows.length + t.gateway.logs.dropped).toBe(130);
    // The newest rows are the ones kept.
    expect(rows.at(-1)!.requestId).toBe('q-129');
    // Usage is counted apart from the queue: nothing lost there.
    const [sum] = await t.gateway.db.sql.query<{ n: number }>('SELECT SUM("requestCount") AS n FROM "ApiKey"');
    expect(Number(sum.n)).toBe(130);
  });

  it('/metrics: requests by upstream and status, latency, attempts, keys by state, log queue depth', async () => {
    await send(t.url, { path: '/proxy/m/x', headers: { ...bearer(token), 'x-mock': 'status:500' } });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/keyrelay_requests_total\{upstream="m",status="200"\} 130/);
    expect(text).toMatch(/keyrelay_requests_total\{upstream="m",status="500"\} 1/);
    expect(text).toMatch(/keyrelay_request_duration_seconds_count\{upstream="m"\} 131/);
    expect(text).toMatch(/keyrelay_request_duration_seconds_bucket\{le="\+Inf",upstream="m"\} 131/);
    expect(text).toMatch(/# TYPE keyrelay_request_duration_seconds histogram/);
    expect(text).toMatch(/keyrelay_upstream_attempts_total\{upstream="m"\} 132/);
    expect(text).toMatch(/keyrelay_upstream_retries_total\{upstream="m"\} 1/);
    expect(text).toMatch(/keyrelay_keys\{upstream="m",state="ACTIVE"\} 2/);
    expect(text).toMatch(/keyrelay_log_queue_depth \d+/);
    expect(text).toMatch(/keyrelay_log_rows_dropped \d+/);
  });
});
