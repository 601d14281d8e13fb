// A rule runtime over a real gateway's state and lifecycle (temp SQLite
// database) with a fake clock, and helpers to build upstreams, keys and rules
// through the admin services as an operator would.
import { nextQuotaResetAt } from '../../../src/keys/quota-schedule.ts';
import type { RuleInput } from '../../../src/admin/rules.ts';
import { createRuleRuntime } from '../../../src/rules/runtime.ts';
import type { RuleOutcome, RulePhase, RuleRuntime } from '../../../src/rules/runtime-types.ts';
import type { UpstreamRuntime } from '../../../src/state/gateway-state.ts';
import type { ApiKeyState, ResponseSample } from '../../../src/state/types.ts';
import type { TestGateway } from '../../support/gateway.ts';

/** Far enough ahead of the real clock that no lifecycle return timer fires during a test. */
export const T0 = Date.UTC(2030, 0, 15, 10, 30, 0);

export interface RuntimeFixture {
  runtime: RuleRuntime;
  clock: { now: number; advance(ms: number): void };
  upstream(): UpstreamRuntime;
  keys: ApiKeyState[];
  observe(key: ApiKeyState, sample: Partial<ResponseSample>, opts?: { phase?: RulePhase; model?: string | null }): RuleOutcome;
}

let counter = 0;

export async function createFixture(
  t: TestGateway,
  opts: { keys?: number; rules: Array<Omit<RuleInput, 'upstreamId'>>; upstream?: Record<string, unknown>; globalCron?: string; timezone?: string },
): Promise<RuntimeFixture> {
  const { services, state, lifecycle, events } = t.gateway;
  const name = `rt-${process.pid}-${++counter}`;
  const row = await services.upstreams.create({ name, baseUrl: 'http://127.0.0.1:9/v1', maxEjectionPercent: 100, ...opts.upstream });
  const values = Array.from({ length: opts.keys ?? 1 }, (_, i) => ({ value: `sk-test-${name}-${i}-0123456789abcdef`, name: `k${i}` }));
  const added = await services.keys.add(row.id, values);
  for (const rule of opts.rules) await services.rules.create({ ...rule, upstreamId: row.id });
  const clock = {
    now: T0,
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const runtime = createRuleRuntime({
    lifecycle,
    state,
    events,
    log: t.gateway.services.log,
    now: () => clock.now,
    quotaResetAt: (u, now) => nextQuotaResetAt(u, opts.globalCron ?? '0 0 * * *', opts.timezone ?? 'UTC', now),
  });
  const upstream = () => state.upstreamsById.get(row.id)!;
  const keys = added.map((k) => state.keys.get(k.id)!);
  let request = 0;
  return {
    runtime,
    clock,
    upstream,
    keys,
    observe(key, sample, o = {}) {
      const full: ResponseSample = { status: 200, headers: {}, body: null, latencyMs: 50, ...sample };
      return runtime.observe({ upstream: upstream(), key, model: o.model ?? null, requestId: `req-${++request}`, sample: full }, o.phase ?? 'all');
    },
  };
}

/** A DISABLE_KEY rule on a status, with overridable settings. */
export function disableOn(status: number | { min?: number; max?: number }, settings: Partial<RuleInput> = {}): Omit<RuleInput, 'upstreamId'> {
  const condition = typeof status === 'number' ? { status: { equals: status } } : { status };
  return { name: `disable on ${JSON.stringify(status)}`, condition, actions: ['DISABLE_KEY'], disableMode: 'DURATION', disableForSeconds: 30, ...settings };
}
