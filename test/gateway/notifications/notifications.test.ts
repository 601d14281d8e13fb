// Notifications end to end: real proxied traffic through a gateway, a node:http
// webhook receiver and an SMTP server (smtp-server) on loopback.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../jobs/support/ensure-built.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { chat, CreateChannel, CreateRule, CreateToken, Deliveries, RunJob, SetKeyStatus, TestNotification, upstreamWithKeys } from './ops.ts';
import { decodeMail, startMailReceiver, startWebhookReceiver, type MailReceiver, type WebhookReceiver } from './receivers.ts';

const SMTP_PASSWORD = 'smtp-pass-do-not-leak-42';
let t: TestGateway;
let mock: MockUpstream;
let hooks: WebhookReceiver;
let mail: MailReceiver;
let token: string;

async function webhook(path: string, events: string[], extra: Record<string, unknown> = {}) {
  const { createNotificationChannel } = await gqlOk(t.url, CreateChannel, { input: { name: path, kind: 'WEBHOOK', url: `${hooks.url}${path}`, events: events as never, ...extra } });
  return { id: createNotificationChannel.channel.id, secret: createNotificationChannel.secret!, path };
}

async function deliveries(channelId: string) {
  return (await gqlOk(t.url, Deliveries, { channelId, first: 100 })).notificationDeliveries;
}

/** Polls the stored deliveries until `pred` holds (they are written just after the send). */
async function deliveriesUntil(channelId: string, pred: (d: Awaited<ReturnType<typeof deliveries>>) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await deliveries(channelId);
    if (pred(list)) return list;
    if (Date.now() > deadline) throw new Error(`deliveries never matched: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function verify(secret: string, hook: { body: string; headers: Record<string, string> }) {
  return new Webhook(secret).verify(hook.body, hook.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

describe.each(PROVIDERS)('notifications on %s', (provider) => {
  beforeAll(async () => {
    await ensureBuilt();
    [mock, hooks, mail] = await Promise.all([startMockUpstream(), startWebhookReceiver(), startMailReceiver()]);
    t = await startTestGateway({
      provider,
      env: {
        KEYRELAY_SMTP_URL: `smtp://alerts:${SMTP_PASSWORD}@127.0.0.1:${mail.port}`,
        KEYRELAY_SMTP_FROM: 'keyrelay@example.test',
        // Long enough that a loaded machine never turns a slow answer into a retry (the timeout path is latency.test's).
        KEYRELAY_WEBHOOK_TIMEOUT_MS: '3000',
        KEYRELAY_WEBHOOK_BACKOFF_MS: '20',
        KEYRELAY_JOBS: 'true',
        KEYRELAY_TEST_JOBS: 'true',
      },
    });
    await t.gateway.jobs.idle();
    token = (await gqlOk(t.url, CreateToken, { input: { name: 'notify' } })).createAccessToken.token;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([mock?.close(), hooks?.close(), mail?.close()]);
  });

  it('an ALERT rule on 500 fires on 10 requests: one signed POST at once, then one more after the interval with folded: 9', async () => {
    const KEY = 'sk-notify-fold-0000000000000000000001';
    mock.byKey[KEY] = 'status:500';
    const up = await upstreamWithKeys(t.url, mock, 'nt-fold', [KEY]);
    await gqlOk(t.url, CreateRule, { input: { upstreamId: up.upstreamId, name: 'alert on 500', condition: { status: { equals: 500 } }, actions: ['ALERT'] } });
    const ch = await webhook('/fold', ['RULE_ALERT'], { upstreamIds: [up.upstreamId], minIntervalSeconds: 2 });
    expect(ch.secret).toMatch(/^whsec_/);

    // The proxy answers 502 for the upstream's 500; one alert per request (no retries).
    for (let i = 0; i < 10; i++) expect((await chat(t.url, 'nt-fold', token)).status).toBeGreaterThanOrEqual(500);
    const [first] = await hooks.waitFor('/fold', 1);
    const payload = verify(ch.secret, first!);
    expect(first!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(first!.headers['webhook-id']).toMatch(/^msg_/);
    expect(payload).toMatchObject({ type: 'rule.alert', data: { event: 'RULE_ALERT', folded: 0, status: '500', upstream: { id: up.upstreamId, name: 'nt-fold' }, key: up.keys[0], rule: { name: 'alert on 500' } } });
    expect(first!.body).not.toContain(KEY);
    // A wrong secret does not verify: the check above means something.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(first!.body, first!.headers)).toThrow();
    expect(hooks.on_('/fold')).toHaveLength(1);

    const [, second] = await hooks.waitFor('/fold', 2, 10_000);
    expect(verify(ch.secret, second!)).toMatchObject({ type: 'rule.alert', data: { folded: 9, key: up.keys[0] } });
    const list = await deliveriesUntil(ch.id, (l) => l.length >= 3);
    expect(list.map((d) => [d.status, d.folded]).sort()).toEqual([['FOLDED', 9], ['SENT', 0], ['SENT', 9]]);
    await new Promise((r) => setTimeout(r, 2500));
    expect(hooks.on_('/fold')).toHaveLength(2);
  });

  it('a key banned by a 401 rule: one mail naming the key and its fingerprint, never its value', async () => {
    const KEY = 'sk-notify-banme-000000000000000000002';
    mock.byKey[KEY] = 'status:401';
    const up = await upstreamWithKeys(t.url, mock, 'nt-ban', [KEY, 'sk-notify-spare-000000000000000000003']);
    await gqlOk(t.url, CreateRule, { input: { upstreamId: up.upstreamId, name: 'ban on 401', condition: { status: { equals: 401 } }, actions: ['BAN_KEY'] } });
    await gqlOk(t.url, CreateChannel, { input: { name: 'on-call mail', kind: 'EMAIL', emailTo: ['oncall@example.test'], events: ['KEY_BANNED'], upstreamIds: [up.upstreamId] } });
    mock.byKey['sk-notify-spare-000000000000000000003'] = 'ok';
    const before = mail.mails.length;
    for (let i = 0; i < 4; i++) await chat(t.url, 'nt-ban', token);
    const [message] = await mail.waitFor(1, (m) => decodeMail(m.raw).includes('nt-ban-0'));
    const banned = up.keys[0]!;
    const text = decodeMail(message!.raw);
    expect(message!.to).toEqual(['oncall@example.test']);
    expect(text).toMatch(new RegExp(`^Subject: \\[keyrelay\\] key banned \\| nt-ban \\| key nt-ban-0 \\(${banned.fingerprint}\\)$`, 'm'));
    expect(text).toContain(`Key:         nt-ban-0, fingerprint ${banned.fingerprint}`);
    for (const whole of [text, message!.raw, message!.raw.replace(/=\r?\n/g, '')]) {
      expect(whole).not.toContain(KEY);
      expect(whole).not.toContain(KEY.slice(-12));
      expect(whole).not.toContain(SMTP_PASSWORD);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(mail.mails.length - before).toBe(1);
  });

  it('all keys of an upstream disabled: UPSTREAM_DEPLETED once; one key back: UPSTREAM_RECOVERED once', async () => {
    const up = await upstreamWithKeys(t.url, mock, 'nt-deplete', ['sk-notify-dep-a-0000000000000000000', 'sk-notify-dep-b-0000000000000000000']);
    const ch = await webhook('/deplete', ['UPSTREAM_DEPLETED', 'UPSTREAM_RECOVERED'], { upstreamIds: [up.upstreamId] });
    const [a, b] = up.keys;
    await gqlOk(t.url, SetKeyStatus, { id: a!.id, status: 'DISABLED' });
    await gqlOk(t.url, SetKeyStatus, { id: b!.id, status: 'DISABLED' });
    const [depleted] = await hooks.waitFor('/deplete', 1);
    expect(verify(ch.secret, depleted!)).toMatchObject({ type: 'upstream.depleted', data: { event: 'UPSTREAM_DEPLETED', upstream: { id: up.upstreamId, name: 'nt-deplete' }, key: null } });
    await gqlOk(t.url, SetKeyStatus, { id: a!.id, status: 'ACTIVE' });
    const [, recovered] = await hooks.waitFor('/deplete', 2);
    expect(verify(ch.secret, recovered!)).toMatchObject({ type: 'upstream.recovered', data: { event: 'UPSTREAM_RECOVERED' } });
    await gqlOk(t.url, SetKeyStatus, { id: b!.id, status: 'ACTIVE' });
    await gqlOk(t.url, SetKeyStatus, { id: b!.id, status: 'DISABLED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(hooks.on_('/deplete').map((h) => JSON.parse(h.body).type)).toEqual(['upstream.depleted', 'upstream.recovered']);
  });

  it('testNotification delivers on each channel; 500 three times then 200 is one delivery with attempts: 4', async () => {
    const ch = await webhook('/test', ['KEY_BANNED']);
    hooks.script.push(500, 500, 500, 200);
    const { testNotification } = await gqlOk(t.url, TestNotification, { channelId: ch.id });
    expect(testNotification).toMatchObject({ channelId: ch.id, status: 'SENT', attempts: 4, error: null, folded: 0 });
    const got = hooks.on_('/test');
    expect(got).toHaveLength(4);
    expect(new Set(got.map((h) => h.headers['webhook-id'])).size).toBe(1);
    expect(verify(ch.secret, got[3]!)).toMatchObject({ data: { test: true } });
    expect(await deliveries(ch.id)).toHaveLength(1);

    const { createNotificationChannel } = await gqlOk(t.url, CreateChannel, { input: { name: 'test mail', kind: 'EMAIL', emailTo: ['ops@example.test'], events: ['JOB_FAILED'] } });
    const before = mail.mails.length;
    const res = await gqlOk(t.url, TestNotification, { channelId: createNotificationChannel.channel.id });
    expect(res.testNotification).toMatchObject({ status: 'SENT', attempts: 1 });
    expect(mail.mails.length).toBe(before + 1);
    expect(mail.mails.at(-1)!.raw).toContain('This is a test notification.');
  });

  it('a 4xx is not retried and raises nothing further; a failed job raises JOB_FAILED', async () => {
    const ch = await webhook('/four', ['JOB_FAILED']);
    // Hears every event: a delivery failing for good must raise none.
    const all = await webhook('/all', ['RULE_ALERT', 'KEY_BANNED', 'KEY_DISABLED', 'KEY_EXHAUSTED', 'UPSTREAM_DEPLETED', 'UPSTREAM_RECOVERED', 'JOB_FAILED']);
    hooks.script.push(404);
    const { testNotification } = await gqlOk(t.url, TestNotification, { channelId: ch.id });
    expect(testNotification).toMatchObject({ status: 'FAILED', attempts: 1, error: 'HTTP 404' });
    await new Promise((r) => setTimeout(r, 300));
    expect(hooks.on_('/all')).toHaveLength(0);
    expect(await deliveries(all.id)).toHaveLength(0);
    await gqlOk(t.url, RunJob, { name: 'test-throw' });
    const [, failed] = await hooks.waitFor('/four', 2);
    expect(verify(ch.secret, failed!)).toMatchObject({ type: 'job.failed', data: { event: 'JOB_FAILED', job: 'test-throw', status: 'FAILED' } });
  });

  it('channels never show the webhook secret or the SMTP password, and bad input names its field', async () => {
    const ch = await webhook('/secret', ['RULE_ALERT']);
    const listed = await gql(t.url, `{ notificationChannels { id url emailTo } notificationDeliveries { error } }`);
    expect(listed.text).not.toContain(ch.secret);
    expect(listed.text).not.toContain(SMTP_PASSWORD);
    const bad = await gql(t.url, CreateChannel, { input: { name: 'x', kind: 'WEBHOOK', events: ['RULE_ALERT'] } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    const badSecret = await gql(t.url, CreateChannel, { input: { name: 'x', kind: 'WEBHOOK', url: hooks.url, secret: 'hunter2', events: ['RULE_ALERT'] } });
    expect(badSecret.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.secret' });
    const badMail = await gql(t.url, CreateChannel, { input: { name: 'x', kind: 'EMAIL', emailTo: ['not-an-address'], events: ['RULE_ALERT'] } });
    expect(badMail.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.emailTo.0' });
    const noEvents = await gql(t.url, CreateChannel, { input: { name: 'x', kind: 'EMAIL', emailTo: ['a@example.test'], events: [] } });
    expect(noEvents.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.events' });
    expect(t.logLines.join('\n')).not.toContain(ch.secret);
    expect(t.logLines.join('\n')).not.toContain(SMTP_PASSWORD);
  });
});
