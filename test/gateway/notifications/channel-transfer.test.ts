// Notification channels travel in exportConfig / importConfig by name (their
// upstreams by name too); the webhook secret never leaves: the export marks it
// `secret: null`, a new instance must be given it, and a re-import keeps the
// stored one. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { WebhookReceiver } from './receivers.ts';

const SECRET = `whsec_${Buffer.from('channel-transfer-secret-0123456789').toString('base64')}`;
const SMTP = { KEYRELAY_SMTP_URL: 'smtp://127.0.0.1:2525', KEYRELAY_SMTP_FROM: 'keyrelay@example.com' };
const EXPORT = `mutation { exportConfig }`;
const IMPORT = `mutation ($json: JSON!, $mode: ConfigImportMode) { importConfig(json: $json, mode: $mode) { upstreams { created updated deleted } notificationChannels { created updated deleted } } }`;
const CHANNELS = `query { notificationChannels { name kind url emailTo events upstreamIds minIntervalSeconds enabled } }`;

interface ChannelDoc { name: string; kind: string; secret?: string | null; upstreams: string[]; [field: string]: unknown }
interface Doc { upstreams: Array<{ name: string }>; notificationChannels: ChannelDoc[]; [field: string]: unknown }

describe.each(PROVIDERS)('notification channels in exportConfig / importConfig on %s', (provider) => {
  let source: TestGateway;
  let target: TestGateway;
  let receiver: WebhookReceiver;
  let doc: Doc;
  const answers: string[] = [];

  const call = async (t: TestGateway, query: string, variables?: Record<string, unknown>) => {
    const res = await gql(t.url, query, variables as never);
    answers.push(res.text);
    return res;
  };

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    await receiver.listen();
    [source, target] = await Promise.all([startTestGateway({ provider, env: SMTP }), startTestGateway({ provider, env: SMTP })]);
    const alpha = (await gqlOk(source.url, `mutation { createUpstream(input: { name: "alpha", baseUrl: "https://api.example.com" }) { id } }`)) as { createUpstream: { id: string } };
    const hook = { name: 'ops hook', kind: 'WEBHOOK', url: `${receiver.url}/hook`, secret: SECRET, events: ['KEY_BANNED', 'JOB_FAILED'], upstreamIds: [alpha.createUpstream.id], minIntervalSeconds: 60 };
    const mail = { name: 'ops mail', kind: 'EMAIL', emailTo: ['ops@example.com'], events: ['UPSTREAM_DEPLETED'], enabled: false };
    for (const input of [hook, mail]) {
      await gqlOk(source.url, `mutation ($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) { channel { id } } }`, { input } as never);
    }
  });
  afterAll(async () => {
    const everything = [...answers, ...(source?.logLines ?? []), ...(target?.logLines ?? [])].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(SECRET.slice('whsec_'.length));
    await Promise.all([source?.close(), target?.close(), receiver?.close()]);
  });

  it('exports the channels by name, with their upstreams by name and the webhook secret marked as left out', async () => {
    doc = ((await call(source, EXPORT)).data as { exportConfig: Doc }).exportConfig;
    expect(doc.notificationChannels).toEqual([
      { name: 'ops hook', kind: 'WEBHOOK', url: `${receiver.url}/hook`, secret: null, emailTo: [], events: ['KEY_BANNED', 'JOB_FAILED'], upstreams: ['alpha'], minIntervalSeconds: 60, enabled: true },
      { name: 'ops mail', kind: 'EMAIL', url: null, emailTo: ['ops@example.com'], events: ['UPSTREAM_DEPLETED'], upstreams: [], minIntervalSeconds: 300, enabled: false },
    ]);
  });

  it('a new instance refuses a webhook channel without its secret, naming the field, and writes nothing', async () => {
    const res = await call(target, IMPORT, { json: doc });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'json.notificationChannels.0.secret' });
    expect(await target.gateway.db.prisma.upstream.count()).toBe(0);
    expect(await target.gateway.db.prisma.notificationChannel.count()).toBe(0);
  });

  it('with the secret set it creates both channels, and the webhook signs with that secret', async () => {
    const withSecret = { ...doc, notificationChannels: doc.notificationChannels.map((c) => (c.kind === 'WEBHOOK' ? { ...c, secret: SECRET } : c)) };
    const res = await call(target, IMPORT, { json: withSecret });
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({ importConfig: { upstreams: { created: 1 }, notificationChannels: { created: 2, updated: 0, deleted: 0 } } });
    const alphaId = target.gateway.state.upstreamsByName.get('alpha')!.config.id;
    const listed = ((await call(target, CHANNELS)).data as { notificationChannels: Array<Record<string, unknown>> }).notificationChannels;
    expect(listed).toEqual([
      { name: 'ops hook', kind: 'WEBHOOK', url: `${receiver.url}/hook`, emailTo: [], events: ['KEY_BANNED', 'JOB_FAILED'], upstreamIds: [alphaId], minIntervalSeconds: 60, enabled: true },
      { name: 'ops mail', kind: 'EMAIL', url: null, emailTo: ['ops@example.com'], events: ['UPSTREAM_DEPLETED'], upstreamIds: [], minIntervalSeconds: 300, enabled: false },
    ]);
    const hookRow = await target.gateway.db.prisma.notificationChannel.findFirstOrThrow({ where: { name: 'ops hook' } });
    expect(hookRow.secret).toMatch(/^v1:/);
    // The in-memory book reloads after the import's config:changed; poll until it knows the channel.
    let delivery = null;
    for (let i = 0; i < 200 && delivery === null; i++) {
      delivery = await target.gateway.notifications.test(hookRow.id).catch(() => null);
      if (delivery === null) await new Promise((r) => setTimeout(r, 25));
    }
    expect(delivery).toMatchObject({ status: 'SENT' });
    const hook = receiver.hooks.at(-1)!;
    expect(() => new Webhook(SECRET).verify(hook.body, hook.headers)).not.toThrow();
  });

  it('re-importing the export (secret null) keeps the stored secret and changes no row; REPLACE deletes channels the document leaves out', async () => {
    const before = await target.gateway.db.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } });
    const res = await call(target, IMPORT, { json: doc });
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({ importConfig: { notificationChannels: { created: 0, updated: 2, deleted: 0 } } });
    expect(await target.gateway.db.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } })).toEqual(before);

    const onlyMail = { ...doc, notificationChannels: doc.notificationChannels.filter((c) => c.kind === 'EMAIL') };
    const replaced = await call(target, IMPORT, { json: onlyMail, mode: 'REPLACE' });
    expect(replaced.data).toMatchObject({ importConfig: { notificationChannels: { created: 0, updated: 1, deleted: 1 } } });
    expect((await target.gateway.db.prisma.notificationChannel.findMany()).map((c) => c.name)).toEqual(['ops mail']);
  });

  it('checks channels like createNotificationChannel, with the document path in the field', async () => {
    const bare = await startTestGateway({ provider });
    try {
      const res = await call(bare, IMPORT, { json: { version: 1, notificationChannels: [doc.notificationChannels[1]] } });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'json.notificationChannels.0.kind' });
      expect(res.errors?.[0]?.message).toContain('KEYRELAY_SMTP_URL');
      const twice = await call(target, IMPORT, { json: { version: 1, notificationChannels: [doc.notificationChannels[1], doc.notificationChannels[1]] } });
      expect(twice.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(twice.errors?.[0]?.message).toContain('notificationChannels.1.name');
      const badSecret = await call(target, IMPORT, { json: { version: 1, notificationChannels: [{ ...doc.notificationChannels[0], upstreams: [], secret: 'not-a-secret' }] } });
      expect(badSecret.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'json.notificationChannels.0.secret' });
    } finally {
      await bare.close();
    }
  });
});
