// Notification channels in KEYRELAY_CONFIG: a webhook's secret only as an
// environment reference (stored encrypted, never logged), applied again to
// the same effect; a secret written into the file is refused at its line.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, PROVIDERS, startTestGateway, type TestDatabase, type TestGateway } from '../../support/gateway.ts';

const SECRET = `whsec_${Buffer.from(`config-file-${randomUUID()}`).toString('base64')}`;

const fileText = (secret: string) => `version: 1
upstreams:
  - name: cfg-hooked
    baseUrl: https://api.example.com
notificationChannels:
  - name: pager
    kind: WEBHOOK
    url: https://hooks.example.com/keyrelay
    secret: ${secret}
    events: [KEY_BANNED, UPSTREAM_DEPLETED]
    upstreams: [cfg-hooked]
    minIntervalSeconds: 120
`;

describe.each(PROVIDERS)('notification channels in KEYRELAY_CONFIG on %s', (provider) => {
  let dir: string;
  let database: TestDatabase;
  const logs: string[] = [];

  beforeAll(async () => {
    process.env.CFG_HOOK_SECRET = SECRET;
    dir = mkdtempSync(join(tmpdir(), 'keyrelay-cfg-ch-'));
    database = await createTestDatabase(provider, dir);
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CFG_HOOK_SECRET;
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  async function start(text: string): Promise<TestGateway> {
    const file = join(dir, `keyrelay-${randomUUID().slice(0, 6)}.yaml`);
    writeFileSync(file, text);
    return startTestGateway({ provider, dataDir: dir, database, env: { KEYRELAY_CONFIG: file } });
  }

  it('creates the channel with its secret from the environment, and a second start changes nothing', async () => {
    const first = await start(fileText('${CFG_HOOK_SECRET}'));
    const rows = await first.gateway.db.prisma.notificationChannel.findMany();
    const upstreamId = first.gateway.state.upstreamsByName.get('cfg-hooked')!.config.id;
    expect(rows.map((r) => ({ name: r.name, kind: r.kind, url: r.url, events: JSON.parse(r.events), upstreamIds: JSON.parse(r.upstreamIds), minIntervalSeconds: r.minIntervalSeconds }))).toEqual([
      { name: 'pager', kind: 'WEBHOOK', url: 'https://hooks.example.com/keyrelay', events: ['KEY_BANNED', 'UPSTREAM_DEPLETED'], upstreamIds: [upstreamId], minIntervalSeconds: 120 },
    ]);
    expect(rows[0]!.secret).toMatch(/^v1:/);
    expect(rows[0]!.secret).not.toContain(SECRET);
    logs.push(...first.logLines);
    await first.close({ drop: false });

    const second = await start(fileText('${CFG_HOOK_SECRET}'));
    expect(await second.gateway.db.prisma.notificationChannel.findMany()).toEqual(rows);
    logs.push(...second.logLines);
    await second.close({ drop: false });
  });

  it('a secret written into the file stops the start, naming the line and field', async () => {
    await expect(start(fileText(SECRET))).rejects.toThrow(/\.yaml:9:\d+ notificationChannels\.0\.secret: give the webhook secret as an environment reference/);
    await expect(start(fileText('${CFG_HOOK_SECRET}').replace('    upstreams:', '    colour: red\n    upstreams:'))).rejects.toThrow(/notificationChannels\.0\.colour: is not a known field/);
  });
});
