// A rule's ALERT with no channel at all: a warn log line, a stored alert
// (alerts query) and an alertRaised push over graphql-ws; LOG is an info
// line. Deliveries and alerts are pruned by log-cleanup with the request logs.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../jobs/support/ensure-built.ts';
import { ADMIN_TOKEN, PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { Alerts, chat, CreateChannel, CreateRule, CreateToken, DeleteChannel, RunJob, UpdateChannel, Channels, upstreamWithKeys } from './ops.ts';

const DAY = 86_400_000;
interface Pushed {
  id: string;
  ruleName: string;
  keyName: string | null;
  fingerprint: string | null;
  upstreamId: string | null;
  requestId: string | null;
  status: number | null;
}

describe.each(PROVIDERS)('alerts without any channel on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;
  let ws: Client;

  beforeAll(async () => {
    await ensureBuilt();
    mock = await startMockUpstream();
    t = await startTestGateway({ provider, env: { KEYRELAY_JOBS: 'true', KEYRELAY_RETENTION_DAYS: '30' } });
    await t.gateway.jobs.idle();
    token = (await gqlOk(t.url, CreateToken, { input: { name: 'alerts' } })).createAccessToken.token;
    ws = createClient({ url: `${t.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, retryAttempts: 0 });
  });
  afterAll(async () => {
    await ws?.dispose();
    await t?.close();
    await mock?.close();
  });

  function logRecords(): Array<Record<string, unknown>> {
    return t.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('an ALERT is one warn log line, a stored alert, and an alertRaised push; LOG is an info line', async () => {
    const KEY = 'sk-alert-only-0000000000000000000001';
    mock.byKey[KEY] = 'status:503';
    const up = await upstreamWithKeys(t.url, mock, 'al-only', [KEY]);
    const rule = (await gqlOk(t.url, CreateRule, { input: { upstreamId: up.upstreamId, name: 'page on 503', condition: { status: { equals: 503 } }, actions: ['ALERT', 'LOG'] } })).createRule;

    const pushed: Pushed[] = [];
    let arrived!: () => void;
    const got = new Promise<void>((resolve) => (arrived = resolve));
    const stop = ws.subscribe<{ alertRaised: Pushed }>(
      { query: `subscription { alertRaised(upstreamId: "${up.upstreamId}") { id ruleName keyName fingerprint upstreamId requestId status } }` },
      { next: (m) => (m.data && pushed.push(m.data.alertRaised), arrived()), error: (e) => { throw e; }, complete: () => {} },
    );
    while (!t.gateway.events.hasSubscribers('alert:stored')) await new Promise((r) => setTimeout(r, 10));

    const res = await chat(t.url, 'al-only', token);
    expect(res.status).toBeGreaterThanOrEqual(500);
    await got;
    stop();
    const key = up.keys[0]!;
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ ruleName: 'page on 503', keyName: key.name, fingerprint: key.fingerprint, upstreamId: up.upstreamId, status: 503 });

    const { alerts } = await gqlOk(t.url, Alerts, { upstreamId: up.upstreamId, first: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ id: pushed[0]!.id, ruleId: rule.id, upstreamName: 'al-only', keyId: key.id, requestId: pushed[0]!.requestId });
    expect(alerts[0]!.requestId).toBeTruthy();

    const warns = logRecords().filter((r) => r.msg === 'rule alert' && r.upstreamId === up.upstreamId);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 40, rule: 'page on 503', upstream: 'al-only', keyName: key.name, fingerprint: key.fingerprint, requestId: alerts[0]!.requestId });
    const infos = logRecords().filter((r) => r.msg === 'rule matched (LOG)' && r.upstreamId === up.upstreamId);
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ level: 30, rule: 'page on 503', keyName: key.name, fingerprint: key.fingerprint, requestId: alerts[0]!.requestId });
    expect(t.logLines.join('\n')).not.toContain(KEY);
    expect(JSON.stringify(alerts)).not.toContain(KEY);
  });

  it('channels can be updated and deleted; log-cleanup prunes old deliveries and alerts with the request logs', async () => {
    const { createNotificationChannel } = await gqlOk(t.url, CreateChannel, { input: { name: 'prune', kind: 'WEBHOOK', url: 'http://127.0.0.1:9/hook', events: ['RULE_ALERT'] } });
    const id = createNotificationChannel.channel.id;
    expect(createNotificationChannel.channel).toMatchObject({ minIntervalSeconds: 300, enabled: true, upstreamIds: [], emailTo: [] });
    const { updateNotificationChannel } = await gqlOk(t.url, UpdateChannel, { id, input: { enabled: false, minIntervalSeconds: 60 } });
    expect(updateNotificationChannel).toMatchObject({ enabled: false, minIntervalSeconds: 60, url: 'http://127.0.0.1:9/hook' });

    const prisma = t.gateway.db.prisma;
    const old = new Date(Date.now() - 40 * DAY);
    const young = new Date(Date.now() - DAY);
    const delivery = (createdAt: Date) => ({ channelId: id, event: 'RULE_ALERT', subject: 's', status: 'SENT' as const, attempts: 1, createdAt });
    await prisma.notificationDelivery.createMany({ data: [delivery(old), delivery(old), delivery(young)] });
    const alert = (createdAt: Date) => ({ createdAt, ruleName: 'r', message: 'm' });
    await prisma.alert.createMany({ data: [alert(old), alert(old), alert(old), alert(young)] });
    const alertsBefore = await prisma.alert.count();

    const run = await t.gateway.jobs.whenFinished(Number((await gqlOk(t.url, RunJob, { name: 'log-cleanup' })).runJob.id));
    expect(run.status).toBe('SUCCEEDED');
    expect(JSON.parse(run.counts)).toMatchObject({ notificationDeliveriesDeleted: 2, alertsDeleted: 3 });
    expect(await prisma.notificationDelivery.count({ where: { channelId: id } })).toBe(1);
    expect(await prisma.alert.count()).toBe(alertsBefore - 3);

    expect((await gqlOk(t.url, DeleteChannel, { id })).deleteNotificationChannel).toBe(id);
    expect((await gqlOk(t.url, Channels, {})).notificationChannels.find((c) => c.id === id)).toBeUndefined();
    expect(await prisma.notificationDelivery.count({ where: { channelId: id } })).toBe(0);
  });
});
