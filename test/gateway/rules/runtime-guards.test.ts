import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { createFixture, disableOn } from './runtime-fixture.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ provider: 'sqlite' });
});
afterAll(async () => {
  await t?.close();
});

describe('scope per key and model', () => {
  it('a key rate-limited on one model keeps serving the others', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { scope: 'KEY_MODEL', disableForSeconds: 60 })] });
    const [key] = f.keys;
    expect(f.observe(key, { status: 429 }, { model: 'model-a' }).keyTakenOut).toBe(true);
    expect(key.status).toBe('ACTIVE');
    expect(key.modelCooldowns.get('model-a')).toBe(f.clock.now + 60_000);
    const pool = f.upstream().pool;
    expect(pool.pick(null, 'model-b', f.clock.now)?.id).toBe(key.id);
    expect(pool.pick(null, 'model-a', f.clock.now)).toBeNull();
    await t.gateway.lifecycle.flushed();
    const cooldowns = await t.gateway.db.prisma.keyModelCooldown.findMany({ where: { keyId: key.id } });
    expect(cooldowns.map((c) => c.model)).toEqual(['model-a']);
  });

  it('counts per key and model: matches on different models do not add up', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { scope: 'KEY_MODEL', threshold: 2, windowSeconds: 60 })] });
    const [key] = f.keys;
    expect(f.observe(key, { status: 429 }, { model: 'a' }).keyTakenOut).toBe(false);
    expect(f.observe(key, { status: 429 }, { model: 'b' }).keyTakenOut).toBe(false);
    expect(f.observe(key, { status: 429 }, { model: 'a' }).keyTakenOut).toBe(true);
    expect([...key.modelCooldowns.keys()]).toEqual(['a']);
  });

  it('without a known model the whole key is disabled', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { scope: 'KEY_MODEL' })] });
    f.observe(f.keys[0], { status: 429 }, { model: null });
    expect(f.keys[0].status).toBe('DISABLED');
  });
});

describe('guard rail: client errors', () => {
  it('400, 404, 413 and 422 never touch a key unless a rule names the status', async () => {
    const broad = { name: 'any error', condition: { status: { min: 400 } }, actions: ['DISABLE_KEY' as const], disableForSeconds: 30 };
    const bodyBroad = { name: 'error body', condition: { body: { contains: 'error' } }, actions: ['DISABLE_KEY' as const], disableForSeconds: 30 };
    const f = await createFixture(t, { keys: 2, rules: [broad, bodyBroad] });
    const [key, other] = f.keys;
    for (const status of [400, 404, 413, 422]) {
      const outcome = f.observe(key, { status, body: '{"error":"bad request"}' });
      expect(outcome).toEqual({ matchedRuleIds: [], keyTakenOut: false });
    }
    expect(key.status).toBe('ACTIVE');
    // Key-related 4xx are not client errors: the broad rule sees a 429.
    expect(f.observe(other, { status: 429 }).keyTakenOut).toBe(true);
  });

  it('a rule that names the status explicitly does apply', async () => {
    const f = await createFixture(t, {
      rules: [disableOn(404), { name: 'range', condition: { status: { min: 400, max: 404 } }, actions: ['LOG'] }],
    });
    const outcome = f.observe(f.keys[0], { status: 404 });
    expect(outcome.keyTakenOut).toBe(true);
    expect(outcome.matchedRuleIds).toHaveLength(2);
  });
});

describe('guard rail: max ejection percent', () => {
  it('with 4 keys all answering 500 and the cap at 50%, at most 2 are taken out', async () => {
    const f = await createFixture(t, { keys: 4, upstream: { maxEjectionPercent: 50 }, rules: [disableOn({ min: 500, max: 599 })] });
    const outcomes = f.keys.map((key) => f.observe(key, { status: 500 }).keyTakenOut);
    expect(outcomes).toEqual([true, true, false, false]);
    expect(f.keys.map((k) => k.status)).toEqual(['DISABLED', 'DISABLED', 'ACTIVE', 'ACTIVE']);
    // Still capped on repeats.
    for (const key of f.keys.slice(2)) expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(false);
    expect(t.logLines.some((line) => line.includes('max ejection cap'))).toBe(true);
  });

  it('a ban counts against the cap too; keys out for other reasons (admin) count as out', async () => {
    const f = await createFixture(t, {
      keys: 4,
      upstream: { maxEjectionPercent: 50 },
      rules: [{ name: 'ban', condition: { status: { equals: 401 } }, actions: ['BAN_KEY'] }],
    });
    await t.gateway.services.keys.setStatus(f.keys[0].id, { status: 'DISABLED' });
    expect(f.observe(f.keys[1], { status: 401 }).keyTakenOut).toBe(true);
    expect(f.observe(f.keys[2], { status: 401 }).keyTakenOut).toBe(false);
    expect(f.keys[2].status).toBe('ACTIVE');
  });

  it('a one-key upstream may still rest its key (at least one), and 0% means never', async () => {
    const one = await createFixture(t, { keys: 1, upstream: { maxEjectionPercent: 50 }, rules: [disableOn(429)] });
    expect(one.observe(one.keys[0], { status: 429 }).keyTakenOut).toBe(true);
    const none = await createFixture(t, { keys: 3, upstream: { maxEjectionPercent: 0 }, rules: [disableOn(429)] });
    expect(none.observe(none.keys[0], { status: 429 }).keyTakenOut).toBe(false);
    expect(none.keys[0].status).toBe('ACTIVE');
  });

  it('per-model take-outs are capped among the keys serving that model', async () => {
    const f = await createFixture(t, { keys: 2, upstream: { maxEjectionPercent: 50 }, rules: [disableOn(429, { scope: 'KEY_MODEL' })] });
    const [a, b] = f.keys;
    expect(f.observe(a, { status: 429 }, { model: 'm' }).keyTakenOut).toBe(true);
    expect(f.observe(b, { status: 429 }, { model: 'm' }).keyTakenOut).toBe(false);
    expect(f.observe(b, { status: 429 }, { model: 'n' }).keyTakenOut).toBe(true);
  });
});

describe('phases and evaluation cost', () => {
  it('each rule sees each response once: header rules at the headers phase, body rules at the body phase', async () => {
    const f = await createFixture(t, {
      rules: [
        disableOn(200, { name: 'status rule', threshold: 2, windowSeconds: 60, actions: ['LOG'] }),
        { name: 'sse error', condition: { jsonPath: { path: '$.error.type', equals: 'overloaded_error' } }, actions: ['DISABLE_KEY'], disableForSeconds: 30, threshold: 2, windowSeconds: 60 },
      ],
    });
    const byName = (name: string) => f.upstream().rules.find((r) => r.def.name === name)!;
    const [statusRule, bodyRule] = [byName('status rule'), byName('sse error')];
    const [key] = f.keys;
    const sse = 'data: {"type":"message_start"}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error"}}\n\n';
    const headers = { 'content-type': 'text/event-stream' };
    expect(f.observe(key, { status: 200, headers }, { phase: 'headers' }).matchedRuleIds).toEqual([statusRule.def.id]);
    expect(f.observe(key, { status: 200, headers, body: sse }, { phase: 'body' })).toEqual({ matchedRuleIds: [bodyRule.def.id], keyTakenOut: false });
    // Second response: both rules reach their threshold of 2 now, each counted once per response.
    f.observe(key, { status: 200, headers }, { phase: 'headers' });
    expect(f.observe(key, { status: 200, headers, body: sse }, { phase: 'body' }).keyTakenOut).toBe(true);
  });

  it('`(a+)+$` is accepted (RE2, linear time) and runs against a 30 KB body in linear time', async () => {
    const f = await createFixture(t, { rules: [{ name: 'redos', condition: { body: { regex: '(a+)+$' } }, actions: ['LOG'] }] });
    const body = 'a'.repeat(30 * 1024) + '!';
    const started = performance.now();
    const outcome = f.observe(f.keys[0], { status: 500, body }, { phase: 'body' });
    const elapsed = performance.now() - started;
    expect(outcome.matchedRuleIds).toEqual([]);
    // Backtracking would need ~2^30000 steps; the bound only has to tell that from one pass, on a loaded machine too.
    expect(elapsed).toBeLessThan(2000);
    expect(f.observe(f.keys[0], { status: 500, body: 'aaaa' }, { phase: 'body' }).matchedRuleIds).toHaveLength(1);
  });
});
