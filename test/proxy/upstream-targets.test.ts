// The per-upstream undici Pool: reused across config versions that do not
// touch it, rebuilt (the old one closed) when its origin or timeouts change.
import { afterAll, describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/state/key-pool.ts';
import { UpstreamTargets } from '../../src/proxy/upstream-targets.ts';
import type { UpstreamRuntime } from '../../src/state/gateway-state.ts';
import type { UpstreamConfig } from '../../src/state/types.ts';

function runtime(version: number, config: Partial<UpstreamConfig>): UpstreamRuntime {
  const base = {
    id: 'u1', name: 'u', baseUrl: 'http://127.0.0.1:9/v1', enabled: true, strategy: 'ROUND_ROBIN', authType: 'BEARER', authName: null, headers: {},
    connectTimeoutMs: 1000, timeoutMs: 1000, bodyTimeoutMs: 1000, deadlineMs: 5000, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5,
    retryOnStatus: [400, 429, 500], maxBufferedBodyBytes: 1024, bodyLogging: 'OFF', bodyLogMaxBytes: 1024, allowAnonymous: false,
    maxEjectionPercent: 50, modelPath: null, waitForKeyMs: 0, injectStreamUsage: false, probe: null, quotaResetCron: null, quotaResetTimezone: null,
    respectProviderLimits: false,
    headerScript: null, scriptCanReadKey: false,
  } satisfies UpstreamConfig;
  return { config: { ...base, ...config }, keys: new Map(), pool: new KeyPool('ROUND_ROBIN'), rules: [], version, script: null };
}

describe('UpstreamTargets', () => {
  const targets = new UpstreamTargets();
  afterAll(() => targets.close());

  it('derives the base path, stripped query parameters and retry statuses (never 400)', () => {
    const t = targets.get(runtime(1, { authType: 'QUERY', authName: 'api_key' }));
    expect(t.basePath).toBe('/v1');
    expect(t.stripQuery).toEqual(['key', 'api_key']);
    expect([...t.retryOn]).toEqual([429, 500]);
    expect(targets.get(runtime(1, {}))).toBe(t);
  });

  it('keeps the Pool for a new version with the same origin and timeouts, rebuilds it otherwise and closes the old one', async () => {
    const first = targets.get(runtime(2, {}));
    const same = targets.get(runtime(3, { maxRetries: 5, baseUrl: 'http://127.0.0.1:9/other' }));
    expect(same.pool).toBe(first.pool);
    expect(same.basePath).toBe('/other');
    const changed = targets.get(runtime(4, { timeoutMs: 2000 }));
    expect(changed.pool).not.toBe(first.pool);
    expect(first.pool.closed).toBe(true);
    targets.sweep(new Map());
    expect(changed.pool.closed).toBe(true);
  });
});
