// Upstreams for the scaling table, configured through the admin API: pools of
// 10, 1,000 and 10,000 keys for each strategy, and 0, 10 and 100 rules that
// read what keyrelay can read (status, headers, body text and regex, JSONPath,
// latency, nested all/any/not) and never match the benchmark's answers, so
// every rule is evaluated in full and no key leaves the pool.
import { adminClient } from './setup.mjs';

export const STRATEGIES = ['ROUND_ROBIN', 'RANDOM', 'WEIGHTED'];
export const POOL_SIZES = [10, 1000, 10000];
export const RULE_COUNTS = [0, 10, 100];

const BASELINE_RULE = { name: 'cool down on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 };

/** The i-th of a family of rule conditions that read every part of a response and match none of the benchmark's. */
export function ruleCondition(i) {
  const kinds = [
    { status: { in: [418, 451] } },
    { header: { name: 'x-bench-never', exists: true } },
    { all: [{ status: { min: 200, max: 299 } }, { body: { contains: `never-${i}` } }] },
    { all: [{ status: { equals: 200 } }, { body: { regex: `quota[ _]exceeded-${i}`, ignoreCase: true } }] },
    { all: [{ status: { equals: 200 } }, { jsonPath: { path: '$.usage.total_tokens', gt: 1_000_000 + i } }] },
    { all: [{ status: { equals: 200 } }, { jsonPath: { path: '$.choices[0].finish_reason', equals: `never-${i}` } }] },
    { latencyMs: { gt: 600_000 + i } },
    { any: [{ status: { equals: 599 } }, { not: { status: { max: 599 } } }] },
    { all: [{ header: { name: 'content-type', regex: `^text/never-${i}` } }, { status: { equals: 200 } }] },
    { all: [{ status: { equals: 200 } }, { jsonPath: { path: '$.error.code', exists: true } }] },
  ];
  return kinds[i % kinds.length];
}

async function createUpstream(gql, name, baseUrl, strategy) {
  const { createUpstream } = await gql('mutation($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }', {
    input: { name, baseUrl, strategy, auth: { type: 'BEARER' } },
  });
  return createUpstream.id;
}

async function addKeys(gql, upstreamId, prefix, count) {
  for (let start = 0; start < count; start += 1000) {
    const keys = Array.from({ length: Math.min(1000, count - start) }, (_, j) => ({ value: `sk-${prefix}-${String(start + j).padStart(6, '0')}-abcdefghijklmnop`, name: `${prefix}-${start + j}`, weight: 1 + ((start + j) % 3) }));
    await gql('mutation($u: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $u, keys: $keys) { id } }', { u: upstreamId, keys });
  }
}

async function addRule(gql, upstreamId, rule) {
  await gql('mutation($input: CreateRuleInput!) { createRule(input: $input) { id } }', { input: { upstreamId, ...rule } });
}

/** Creates the scaling upstreams on a running keyrelay; returns the names of the rows' upstreams. */
export async function setupScalingUpstreams(url, baseUrl, progress) {
  const gql = adminClient(url);
  const pools = [];
  for (const size of POOL_SIZES) {
    for (const strategy of STRATEGIES) {
      const name = `p${size}-${strategy.toLowerCase().replace('_', '')}`;
      const id = await createUpstream(gql, name, baseUrl, strategy);
      await addKeys(gql, id, name, size);
      await addRule(gql, id, BASELINE_RULE);
      pools.push({ name, size, strategy });
      progress(`  upstream ${name}: ${size} keys`);
    }
  }
  const rules = [];
  for (const count of RULE_COUNTS) {
    const name = `r${count}`;
    const id = await createUpstream(gql, name, baseUrl, 'ROUND_ROBIN');
    await addKeys(gql, id, name, 10);
    for (let i = 0; i < count; i++) await addRule(gql, id, { name: `never ${i}`, condition: ruleCondition(i), actions: ['LOG'] });
    rules.push({ name, count });
    progress(`  upstream ${name}: ${count} rules`);
  }
  return { pools, rules };
}
