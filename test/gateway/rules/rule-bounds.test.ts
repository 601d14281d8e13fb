// Rule evaluation against hostile response shapes: a body
// nested hundreds deep is not parsed for rules, a path with many recursive
// descents is refused when saved, and a JSONPath evaluation stops at its node
// budget (not matched, counted), so no response blocks the event loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCondition } from '../../../src/rules/compile.ts';
import { createEvalContext } from '../../../src/rules/eval-context.ts';
import { DEFAULT_BOUNDS, type EvalBounds } from '../../../src/rules/eval-bounds.ts';
import { RuleValidationError } from '../../../src/rules/errors.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { bearer, createToken, createUpstream, send } from '../proxy/support.ts';
import { startHostileUpstream, type HostileUpstream } from '../proxy/hostile-upstream.ts';

/** A JSON body nested `depth` levels, about `bytes` long. */
function nested(depth: number): string {
  let body = '{"leaf":[1,2,3,"x"]}';
  for (let i = 0; i < depth; i++) body = `{"a":${body},"b":[${i},{"c":"d"}]}`;
  return body;
}

function counting(): EvalBounds & { deep: number; exhausted: number } {
  const b = { ...DEFAULT_BOUNDS, deep: 0, exhausted: 0, onTooDeep: () => void b.deep++, onBudgetExhausted: () => void b.exhausted++ };
  return b;
}

const timed = (f: () => boolean): { matched: boolean; ms: number } => {
  const t0 = performance.now();
  const matched = f();
  return { matched, ms: performance.now() - t0 };
};

describe('bounded rule evaluation', () => {
  it('refuses a path with more recursive descents than allowed when it is saved', () => {
    expect(() => compileCondition({ jsonPath: { path: '$..*..*..*..*..*', exists: true } }, 'condition')).toThrow(RuleValidationError);
    expect(() => compileCondition({ jsonPath: { path: '$..error..code', exists: true } }, 'condition')).not.toThrow();
  });

  it('does not parse a body nested 400 deep for rules, and says so; evaluation takes milliseconds', () => {
    const test = compileCondition({ jsonPath: { path: '$..*..*', exists: true } }, 'condition');
    const body = nested(400);
    const bounds = counting();
    const { matched, ms } = timed(() => test.test(createEvalContext({ status: 400, headers: { 'content-type': 'application/json' }, body, latencyMs: 1 }, bounds)));
    expect(matched).toBe(false);
    expect(bounds.deep).toBe(1);
    // Milliseconds when the machine is quiet (timing belongs in benchmarks); the bound here only has to catch the unbounded 55 s.
    expect(ms).toBeLessThan(500);
  });

  it('stops a JSONPath evaluation at its node budget on a body within the depth limit: not matched, counted', () => {
    const test = compileCondition({ jsonPath: { path: '$..*..*', exists: true } }, 'condition');
    const body = nested(60);
    const bounds = counting();
    const { matched, ms } = timed(() => test.test(createEvalContext({ status: 400, headers: {}, body, latencyMs: 1 }, bounds)));
    expect(matched).toBe(false);
    expect(bounds.exhausted).toBe(1);
    expect(bounds.deep).toBe(0);
    expect(ms).toBeLessThan(500);
    // The same rule on an ordinary body still works.
    const small = compileCondition({ jsonPath: { path: '$..error..code', equals: 'rate_limited' } }, 'condition');
    expect(small.test(createEvalContext({ status: 429, headers: {}, body: '{"error":{"code":"rate_limited"}}', latencyMs: 1 }, counting()))).toBe(true);
  });

  it('bounds each event of an event stream too', () => {
    const test = compileCondition({ jsonPath: { path: '$..*..*', exists: true } }, 'condition');
    const body = `data: ${nested(300)}\n\ndata: {"ok":{"fine":1}}\n\n`;
    const bounds = counting();
    const { matched } = timed(() => test.test(createEvalContext({ status: 200, headers: { 'content-type': 'text/event-stream' }, body, latencyMs: 1 }, bounds)));
    expect(matched).toBe(true); // the shallow event still matches
    expect(bounds.deep).toBe(1);
  });
});

describe('a hostile upstream body through the gateway', () => {
  let t: TestGateway;
  let upstream: HostileUpstream;
  let token: string;
  beforeAll(async () => {
    const body = nested(400);
    upstream = await startHostileUpstream(() => ({ status: 400, headers: { 'content-type': 'application/json' }, body }));
    t = await startTestGateway();
    const up = await createUpstream(t, upstream.url, { name: 'deep' }, [{ value: 'sk-deep-000000000000000000000001' }]);
    const rule = await gql(t.url, 'mutation($i: CreateRuleInput!) { createRule(input: $i) { id } }', {
      i: { name: 'deep', upstreamId: up.id, actions: ['LOG'], condition: { all: [{ status: { equals: 400 } }, { jsonPath: { path: '$..*..*', exists: true } }] } },
    });
    expect(rule.errors).toBeUndefined();
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('refuses the 5-descent rule over the API with BAD_USER_INPUT naming the path', async () => {
    const res = await gql(t.url, 'mutation($i: CreateRuleInput!) { createRule(input: $i) { id } }', {
      i: { name: 'dos', actions: ['LOG'], condition: { jsonPath: { path: '$..*..*..*..*..*', exists: true } } },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toMatch(/path$/);
  });

  it('answers quickly, counts the too-deep body in a metric and logs it', async () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect((await send(t.url, { path: '/proxy/deep/x', headers: bearer(token) })).status).toBe(400);
    // Before the bounds one such response took 55 s; a generous bound keeps this steady on a loaded machine.
    expect(performance.now() - started).toBeLessThan(15_000);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(/keyrelay_rule_bodies_too_deep (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(20);
    expect(t.logLines.join('\n')).toContain('not parsed for rules');
  });
});
