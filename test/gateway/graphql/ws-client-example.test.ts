// The example client in examples/ws-client.ts runs as documented and prints
// live events (npm run example:ws, i.e. vite-node).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { logEvent, subscribed } from './support.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

it('prints a request log and a key state change, then exits after --count 2', async () => {
  const upstream = await t.gateway.services.upstreams.create({ name: 'example', baseUrl: 'https://api.example.com' });
  const [key] = await t.gateway.services.keys.add(upstream.id, [{ value: 'sk-example-0123456789abcd', name: 'main' }]);
  const ready = subscribed(t.gateway.events, ['requestLog:created', 'apiKey:stateChanged']);
  const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'examples/ws-client.ts', '--upstream', upstream.id, '--count', '2'], {
    env: { ...process.env, KEYRELAY_URL: t.url, KEYRELAY_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = once(child, 'exit');
  try {
    await ready;
    t.gateway.events.publish('requestLog:created', logEvent({ id: 1, upstreamId: 'another', status: 500 })); // filtered out
    const row = await t.gateway.db.prisma.requestLog.create({
      data: { createdAt: new Date(), requestId: 'r1', upstreamId: upstream.id, keyId: key!.id, method: 'POST', path: '/v1/chat/completions', status: 200, outcome: 'ok', latencyMs: 42 },
    });
    t.gateway.events.publish('requestLog:created', logEvent({ id: row.id, upstreamId: upstream.id, keyId: key!.id, latencyMs: 42 }));
    await t.gateway.services.keys.setStatus(key!.id, { status: 'DISABLED', reason: 'rotating' });
    const [code] = await exited;
    expect(code, stderr).toBe(0);
  } finally {
    child.kill();
  }
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/ example POST \/v1\/chat\/completions 200 42ms key=main\(…abcd\)$/);
  expect(lines[1]).toBe('key main(…abcd) ACTIVE -> DISABLED by ADMIN: rotating');
  expect(stderr).toContain(`connected to ${t.url}`);
}, 60_000);
