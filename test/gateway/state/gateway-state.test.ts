// GatewayState on its own, over a real database: what it loads from the rows,
// that it runs the parts the wiring passes in (the rule compiler, the script
// builder, the rate limits) rather than its own, that a reload keeps the key
// objects in-flight requests hold, and that removals leave nothing behind.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../../src/crypto/cipher.ts';
import { RateLimits } from '../../../src/ratelimit/rate-limits.ts';
import { compileRule } from '../../../src/rules/evaluate.ts';
import { GatewayState } from '../../../src/state/gateway-state.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  // The gateway only provides a migrated database; the state under test is a second one.
  t = await startTestGateway({ provider: 'sqlite' });
});
afterAll(async () => {
  await t?.close();
});

describe('GatewayState', () => {
  it('loads upstreams, keys and rules through the parts it is given, and keeps key identity across reloads', async () => {
    const prisma = t.gateway.db.prisma;
    const cipher = createCipher(randomBytes(32));
    const upstream = await prisma.upstream.create({ data: { name: 'gs-up', nameKey: 'gs-up', baseUrl: 'http://127.0.0.1:9' } });
    const secret = (n: number) => ({ secretCipher: cipher.encrypt(`sk-${n}`), secretHash: `h${n}`, fingerprint: `…${n}` });
    const [a, b] = await Promise.all([1, 2].map((n) => prisma.apiKey.create({ data: { upstreamId: upstream.id, name: `k${n}`, ...secret(n) } })));
    await prisma.rule.create({ data: { name: 'late', upstreamId: upstream.id, priority: 20, condition: '{"status":{"equals":429}}', actions: '["LOG"]' } });
    await prisma.rule.create({ data: { name: 'early', upstreamId: null, priority: 10, condition: '{"status":{"equals":401}}', actions: '["LOG"]' } });

    const compiled: string[] = [];
    const scripted: string[] = [];
    const state = new GatewayState(prisma, cipher, {
      compileRule: (def) => (compiled.push(def.name), compileRule(def)),
      buildScript: (row) => (scripted.push(row.name), null),
      limits: new RateLimits(prisma),
      scripts: null,
    });
    await state.loadAll();

    expect(compiled.sort()).toEqual(['early', 'late']);
    expect(scripted).toEqual(['gs-up']);
    const runtime = state.upstreamsByName.get('gs-up')!;
    expect(runtime.rules.map((r) => r.def.name)).toEqual(['early', 'late']);
    expect([...runtime.keys.values()].map((k) => k.secret).sort()).toEqual(['sk-1', 'sk-2']);
    expect(state.keys.get(a!.id)).toBe(runtime.keys.get(a!.id));

    // A reload of one key, and of the whole upstream, changes the object in place.
    const held = state.keys.get(a!.id)!;
    await prisma.apiKey.update({ where: { id: a!.id }, data: { weight: 7 } });
    expect(await state.reloadKey(a!.id)).toBe(held);
    expect(held.weight).toBe(7);
    await prisma.apiKey.update({ where: { id: a!.id }, data: { weight: 3 } });
    const version = runtime.version;
    await state.reloadUpstream(upstream.id);
    const reloaded = state.upstreamsById.get(upstream.id)!;
    expect(reloaded.version).toBeGreaterThan(version);
    expect(reloaded.keys.get(a!.id)).toBe(held);
    expect(held.weight).toBe(3);

    // A deleted key and a deleted upstream leave the maps.
    await prisma.apiKey.delete({ where: { id: b!.id } });
    expect(await state.reloadKey(b!.id)).toBeNull();
    expect(state.keys.has(b!.id)).toBe(false);
    expect(reloaded.keys.has(b!.id)).toBe(false);
    state.removeUpstream(upstream.id);
    expect(state.upstreamsByName.has('gs-up')).toBe(false);
    expect(state.keys.has(a!.id)).toBe(false);
  });
});
