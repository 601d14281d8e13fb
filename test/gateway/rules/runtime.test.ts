import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { createFixture, disableOn, T0 } from './runtime-fixture.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ provider: 'sqlite' });
});
afterAll(async () => {
  await t?.close();
});

const SEC = 1000;

describe('firing: threshold, consecutive, cooldown', () => {
  it('threshold 3 within 60 s fires on the third match only', async () => {
    const f = await createFixture(t, { rules: [disableOn(500, { threshold: 3, windowSeconds: 60 })] });
    const [key] = f.keys;
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(false);
    f.clock.advance(20 * SEC);
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(false);
    expect(key.status).toBe('ACTIVE');
    f.clock.advance(20 * SEC);
    const third = f.observe(key, { status: 500 });
    expect(third.keyTakenOut).toBe(true);
    expect(third.matchedRuleIds).toHaveLength(1);
    expect(key.status).toBe('DISABLED');
    expect(key.disabledUntil).toBe(f.clock.now + 30 * SEC);
  });

  it('matches older than the window do not count', async () => {
    const f = await createFixture(t, { rules: [disableOn(500, { threshold: 3, windowSeconds: 60 })] });
    const [key] = f.keys;
    f.observe(key, { status: 500 });
    f.clock.advance(30 * SEC);
    f.observe(key, { status: 500 });
    f.clock.advance(31 * SEC); // the first match is now 61 s old
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(false);
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(true);
  });

  it('consecutive: a success resets the count', async () => {
    const f = await createFixture(t, { rules: [disableOn({ min: 500, max: 599 }, { threshold: 3, consecutive: true })] });
    const [key] = f.keys;
    f.observe(key, { status: 500 });
    f.observe(key, { status: 502 });
    expect(f.observe(key, { status: 200 }).matchedRuleIds).toEqual([]);
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(false);
    expect(f.observe(key, { status: 503 }).keyTakenOut).toBe(false);
    expect(key.status).toBe('ACTIVE');
    expect(f.observe(key, { status: 500 }).keyTakenOut).toBe(true);
    expect(key.status).toBe('DISABLED');
  });

  it('cooldown: the rule does not fire again for the key until it is over', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { disableForSeconds: 5, cooldownSeconds: 60 })] });
    const [key] = f.keys;
    expect(f.observe(key, { status: 429 }).keyTakenOut).toBe(true);
    await t.gateway.lifecycle.transition(key.id, 'ACTIVE', { actor: 'TIMER', reason: 'test return' });
    f.clock.advance(10 * SEC);
    const during = f.observe(key, { status: 429 });
    expect(during.matchedRuleIds).toHaveLength(1); // matched and recorded, but no action
    expect(during.keyTakenOut).toBe(false);
    expect(key.status).toBe('ACTIVE');
    f.clock.advance(51 * SEC);
    expect(f.observe(key, { status: 429 }).keyTakenOut).toBe(true);
  });
});

describe('escalation', () => {
  it('each repeated disable lasts base × count, capped; stored on the key', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { disableForSeconds: 10, escalate: true, maxDisableSeconds: 25 })] });
    const [key] = f.keys;
    const durations: number[] = [];
    for (let i = 0; i < 3; i++) {
      f.observe(key, { status: 429 });
      durations.push(key.disabledUntil! - f.clock.now);
      await t.gateway.lifecycle.transition(key.id, 'ACTIVE', { actor: 'TIMER', reason: 'test return' });
      f.clock.advance(SEC);
    }
    expect(durations).toEqual([10 * SEC, 20 * SEC, 25 * SEC]);
    await t.gateway.lifecycle.flushed();
    const row = await t.gateway.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.disableCount).toBe(3);
  });

  it('a success right after the return keeps the history; one after a healthy spell as long as the disable resets it', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { disableForSeconds: 10, escalate: true, maxDisableSeconds: 1000 })] });
    const [key] = f.keys;
    f.observe(key, { status: 429 });
    f.clock.advance(10 * SEC);
    await t.gateway.lifecycle.transition(key.id, 'ACTIVE', { actor: 'TIMER', reason: 'test return' });
    f.observe(key, { status: 200 }); // straight after the return: still on probation
    f.observe(key, { status: 429 });
    expect(key.disabledUntil! - f.clock.now).toBe(20 * SEC);
    f.clock.advance(20 * SEC);
    await t.gateway.lifecycle.transition(key.id, 'ACTIVE', { actor: 'TIMER', reason: 'test return' });
    f.clock.advance(20 * SEC);
    f.observe(key, { status: 200 });
    expect(key.disableCount).toBe(0);
    await t.gateway.lifecycle.flushed();
    expect((await t.gateway.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } })).disableCount).toBe(0);
    f.observe(key, { status: 429 });
    expect(key.disabledUntil! - f.clock.now).toBe(10 * SEC);
  });

  it('concurrent failures of a key already out do not escalate it again', async () => {
    const f = await createFixture(t, { rules: [disableOn(429, { disableForSeconds: 10, escalate: true, maxDisableSeconds: 1000 })] });
    const [key] = f.keys;
    for (let i = 0; i < 5; i++) expect(f.observe(key, { status: 429 }).keyTakenOut).toBe(true);
    expect(key.disableCount).toBe(1);
    expect(key.disabledUntil! - f.clock.now).toBe(10 * SEC);
  });
});

describe('disable modes, Retry-After and bans', () => {
  it('QUOTA_RESET disables until the next reset of the global schedule, or the upstream\'s own', async () => {
    const global = await createFixture(t, { rules: [disableOn(429, { disableMode: 'QUOTA_RESET', disableForSeconds: null })] });
    global.observe(global.keys[0], { status: 429 });
    expect(global.keys[0].disabledUntil).toBe(Date.UTC(2030, 0, 16, 0, 0, 0));

    const own = await createFixture(t, {
      upstream: { quotaResetCron: '0 0 * * *', quotaResetTimezone: 'America/Los_Angeles' },
      rules: [disableOn(429, { disableMode: 'QUOTA_RESET', disableForSeconds: null })],
    });
    own.observe(own.keys[0], { status: 429 });
    // Midnight Pacific (UTC-8 in January) after 10:30 UTC on the 15th.
    expect(own.keys[0].disabledUntil).toBe(Date.UTC(2030, 0, 16, 8, 0, 0));
  });

  it('MANUAL disables until re-enabled by hand (no return time)', async () => {
    const f = await createFixture(t, { rules: [disableOn(402, { disableMode: 'MANUAL', disableForSeconds: null })] });
    f.observe(f.keys[0], { status: 402 });
    expect(f.keys[0].status).toBe('DISABLED');
    expect(f.keys[0].disabledUntil).toBeNull();
  });

  it('Retry-After on a 429 is a floor for the disable time, capped by maxDisableSeconds', async () => {
    const f = await createFixture(t, { keys: 4, rules: [disableOn(429, { disableForSeconds: 10, maxDisableSeconds: 60 })] });
    const [a, b, c, d] = f.keys;
    f.observe(a, { status: 429, headers: { 'retry-after': '30' } });
    f.observe(b, { status: 429, headers: { 'retry-after': '600' } });
    f.observe(c, { status: 429, headers: { 'retry-after': '2' } });
    f.observe(d, { status: 429, headers: { 'Retry-After': new Date(T0 + 45 * SEC).toUTCString() } });
    expect(a.disabledUntil! - T0).toBe(30 * SEC);
    expect(b.disabledUntil! - T0).toBe(60 * SEC);
    expect(c.disabledUntil! - T0).toBe(10 * SEC);
    expect(d.disabledUntil! - T0).toBe(45 * SEC);
  });

  it('BAN_KEY bans; the key stays banned (no timer) and a later rule cannot lift it', async () => {
    const f = await createFixture(t, { rules: [{ name: 'ban 401', condition: { status: { in: [401, 403] } }, actions: ['BAN_KEY', 'ALERT'], disableMode: 'MANUAL' }] });
    const [key] = f.keys;
    const alerts = t.gateway.events.subscribe('alert:raised');
    const alert = alerts.next();
    expect(f.observe(key, { status: 401 }).keyTakenOut).toBe(true);
    expect(key.status).toBe('BANNED');
    expect(key.disabledUntil).toBeNull();
    const { value } = await alert;
    await alerts.return();
    expect(value).toMatchObject({ keyId: key.id, upstreamId: f.upstream().config.id });
    expect(value.message).toContain('banned');
    expect(value.message).not.toContain(key.secret);
  });

  it('writes a KeyEvent naming the rule and the request', async () => {
    const f = await createFixture(t, { rules: [disableOn(429)] });
    const [key] = f.keys;
    f.observe(key, { status: 429 });
    await t.gateway.lifecycle.flushed();
    const events = await t.gateway.db.prisma.keyEvent.findMany({ where: { keyId: key.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ fromStatus: 'ACTIVE', toStatus: 'DISABLED', actor: 'RULE', ruleId: f.upstream().rules[0].def.id });
    expect(events[0].requestId).toMatch(/^req-/);
    expect(events[0].disabledUntil?.getTime()).toBe(T0 + 30 * SEC);
  });
});
