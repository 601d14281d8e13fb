import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import type { RuleConditionInput } from '../../generated/graphql.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';

const CreateUpstream = graphql(`mutation RuleToolsCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const RulePresets = graphql(`
  query RuleToolsPresets { rulePresets { id name description condition actions threshold consecutive disableMode disableForSeconds escalate scope priority } }
`);
const ApplyRulePreset = graphql(`
  mutation RuleToolsApplyPreset($presetId: ID!, $upstreamId: ID) {
    applyRulePreset(presetId: $presetId, upstreamId: $upstreamId) { id name upstreamId scope escalate disableForSeconds actions condition }
  }
`);
const TestRule = graphql(`
  query RuleToolsTestRule($condition: RuleConditionInput!, $sample: RuleSampleInput!) {
    testRule(condition: $condition, sample: $sample) { matched needsBody skippedAsClientError }
  }
`);
const TestRuleAgainstLogs = graphql(`
  query RuleToolsTestAgainstLogs($condition: RuleConditionInput!, $upstreamId: ID!, $last: Int) {
    testRuleAgainstLogs(condition: $condition, upstreamId: $upstreamId, last: $last) { matchedLogIds evaluated bodiesMissing }
  }
`);

describe.each(PROVIDERS)('rule presets and dry runs on %s', (provider) => {
  let t: TestGateway;
  let upstreamId: string;
  let otherId: string;

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'tools', baseUrl: 'http://127.0.0.1:9/v1' } })).createUpstream.id;
    otherId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'tools-other', baseUrl: 'http://127.0.0.1:9/v2' } })).createUpstream.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the presets and applies one to an upstream as an editable rule', async () => {
    const { rulePresets } = await gqlOk(t.url, RulePresets);
    expect(rulePresets.map((p) => p.id)).toEqual(['ban-on-auth-failure', 'disable-until-quota-reset', 'cooldown-on-rate-limit', 'consecutive-5xx']);
    const rateLimit = rulePresets.find((p) => p.id === 'cooldown-on-rate-limit')!;
    expect(rateLimit).toMatchObject({ condition: { status: { equals: 429 } }, disableForSeconds: 60, escalate: true });
    expect(rulePresets.find((p) => p.id === 'consecutive-5xx')).toMatchObject({ threshold: 5, consecutive: true, disableForSeconds: 30 });

    const { applyRulePreset } = await gqlOk(t.url, ApplyRulePreset, { presetId: 'cooldown-on-rate-limit', upstreamId });
    expect(applyRulePreset).toMatchObject({ upstreamId, scope: 'KEY_MODEL', escalate: true, disableForSeconds: 60, actions: ['DISABLE_KEY'] });
    // Live at once: the in-memory state the proxy reads has it compiled.
    expect(t.gateway.state.upstreamsById.get(upstreamId)!.rules.map((r) => r.def.id)).toContain(applyRulePreset.id);

    const missing = await gql(t.url, ApplyRulePreset, { presetId: 'nope', upstreamId });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'presetId' });
  });

  it('testRule evaluates a condition against a sample response', async () => {
    const quota = { any: [{ all: [{ status: { min: 400 } }, { body: { contains: 'quota exceeded', ignoreCase: true } }] }, { header: { name: 'x-ratelimit-remaining', equals: '0' } }] };
    const hit = await gqlOk(t.url, TestRule, { condition: quota, sample: { status: 429, body: 'Daily Quota Exceeded', headers: {} } });
    expect(hit.testRule).toEqual({ matched: true, needsBody: true, skippedAsClientError: false });
    const byHeader = await gqlOk(t.url, TestRule, { condition: quota, sample: { status: 200, headers: { 'X-RateLimit-Remaining': '0' } } });
    expect(byHeader.testRule.matched).toBe(true);
    const miss = await gqlOk(t.url, TestRule, { condition: quota, sample: { status: 200, body: 'fine' } });
    expect(miss.testRule.matched).toBe(false);
    const slow = await gqlOk(t.url, TestRule, { condition: { latencyMs: { gt: 1000 } }, sample: { status: 200, latencyMs: 1500 } });
    expect(slow.testRule).toEqual({ matched: true, needsBody: false, skippedAsClientError: false });
    const clientError = await gqlOk(t.url, TestRule, { condition: { status: { min: 400 } }, sample: { status: 404 } });
    expect(clientError.testRule).toEqual({ matched: true, needsBody: false, skippedAsClientError: true });
  });

  it('a bad condition or sample is BAD_USER_INPUT naming the field', async () => {
    const badRegex = await gql(t.url, TestRule, { condition: { any: [{ status: { equals: 500 } }, { body: { regex: '(' } }] }, sample: { status: 500 } });
    expect(badRegex.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'condition.any.1.body.regex' });
    const badPath = await gql(t.url, TestRuleAgainstLogs, { condition: { jsonPath: { path: '$..[?(@.a' , exists: true } }, upstreamId });
    expect(badPath.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'condition.jsonPath.path' });
    const badHeaders = await gql(t.url, TestRule, { condition: { status: { equals: 500 } }, sample: { status: 500, headers: ['x'] } });
    expect(badHeaders.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sample.headers' });
  });

  it('testRuleAgainstLogs returns the ids of the logged responses the condition matches', async () => {
    const prisma = t.gateway.db.prisma;
    const base = { method: 'POST', path: '/v1/chat/completions', outcome: 'ok' };
    const seed = [
      { status: 200, latencyMs: 100, responseBody: '{"ok":true}' },
      { status: 429, latencyMs: 20, responseBody: null },
      { status: 500, latencyMs: 30, responseBody: 'Quota exceeded for today' },
      { status: 500, latencyMs: 40, responseBody: null },
      { status: 400, latencyMs: 10, responseBody: '{"error":{"code":"insufficient_quota"}}' },
      { status: 200, latencyMs: 2500, responseBody: 'data: {"error":{"type":"overloaded_error"}}\n\n' },
    ];
    for (const [i, row] of seed.entries()) {
      await prisma.requestLog.create({ data: { ...base, ...row, createdAt: new Date(Date.now() + i), requestId: `seed-${i}`, upstreamId } });
    }
    // Another upstream's 429 must not show up.
    await prisma.requestLog.create({ data: { ...base, status: 429, latencyMs: 5, createdAt: new Date(), requestId: 'seed-other', upstreamId: otherId } });
    const rows = await prisma.requestLog.findMany({ where: { upstreamId }, orderBy: { id: 'asc' } });
    const id = (i: number) => String(rows[i].id);

    const run = async (condition: RuleConditionInput, last?: number) =>
      (await gqlOk(t.url, TestRuleAgainstLogs, { condition, upstreamId, ...(last ? { last } : {}) })).testRuleAgainstLogs;

    expect(await run({ status: { equals: 429 } })).toEqual({ matchedLogIds: [id(1)], evaluated: 6, bodiesMissing: 0 });
    expect(await run({ body: { contains: 'quota', ignoreCase: true } })).toEqual({ matchedLogIds: [id(4), id(2)], evaluated: 6, bodiesMissing: 2 });
    expect(await run({ jsonPath: { path: '$.error.code', equals: 'insufficient_quota' } })).toMatchObject({ matchedLogIds: [id(4)] });
    expect(await run({ jsonPath: { path: '$.error.type', equals: 'overloaded_error' } })).toMatchObject({ matchedLogIds: [id(5)] });
    expect(await run({ any: [{ status: { min: 500 } }, { latencyMs: { gt: 2000 } }] })).toMatchObject({ matchedLogIds: [id(5), id(3), id(2)] });
    expect(await run({ status: { min: 200 } }, 2)).toEqual({ matchedLogIds: [id(5), id(4)], evaluated: 2, bodiesMissing: 0 });

    const tooMany = await gql(t.url, TestRuleAgainstLogs, { condition: { status: { equals: 500 } }, upstreamId, last: 5000 });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
  });
});
