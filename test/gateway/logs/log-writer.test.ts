// LogWriter on its own, over a real database and its real worker thread: rows
// queued while it is not started wait, a queue past its bound drops the
// oldest rows (never blocking), a flush stores the rest with their secrets
// scrubbed and publishes each stored row with its new id, and close ends it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type RequestLogged } from '../../../src/events/bus.ts';
import { UsageCounters } from '../../../src/keys/usage-counters.ts';
import { createLogger } from '../../../src/logger.ts';
import type { LogEntry } from '../../../src/logs/log-entry.ts';
import { LogWriter } from '../../../src/logs/log-writer.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';

const SECRET = 'sk-writer-test-0123456789';

function entry(requestId: string): LogEntry {
  return {
    createdAt: Date.now(), requestId, upstreamId: null, keyId: null, accessTokenId: null, method: 'GET', path: `/v1/x?key=${SECRET}`, status: 200, outcome: 'ok',
    latencyMs: 1, overheadMs: 0.1, attempts: 1, bytesIn: 0, bytesOut: 0, clientIp: '127.0.0.1', error: null, model: null, stream: false, usage: null,
    matchedRules: null, requestBody: null, responseBody: null, bodyTruncated: false, secrets: [SECRET],
  };
}

let t: TestGateway;
beforeAll(async () => {
  // The gateway provides a migrated database (and its state); the writer under test is a second one with its own bus.
  t = await startTestGateway({ provider: 'sqlite' });
});
afterAll(async () => {
  await t?.close();
});

describe('LogWriter', () => {
  it('bounds its queue by dropping the oldest rows, then stores and publishes the rest, scrubbed', async () => {
    const events = createEventBus();
    const writer = new LogWriter({ target: t.gateway.db.target, events, state: t.gateway.state, usage: new UsageCounters(), log: createLogger('silent'), flushMs: 60_000, queueMax: 16 });
    const published: RequestLogged[] = [];
    const seen = (async () => {
      for await (const row of events.subscribe('requestLog:created')) if (published.push(row) === 16) return;
    })();
    try {
      for (let i = 0; i < 20; i++) writer.enqueue(entry(`lw-${i}`));
      // Not started: nothing is written yet, and the queue stays at its bound.
      expect(writer.depth).toBe(16);
      writer.start();
      await writer.flush();
      await seen;
      expect(writer.depth).toBe(0);
    } finally {
      await writer.close();
    }

    const stored = await t.gateway.db.prisma.requestLog.findMany({ where: { requestId: { startsWith: 'lw-' } }, orderBy: { id: 'asc' } });
    expect(stored.map((r) => r.requestId)).toEqual(Array.from({ length: 16 }, (_, i) => `lw-${i + 4}`));
    expect(stored.every((r) => !r.path.includes(SECRET))).toBe(true);
    expect(published.map((r) => [r.id, r.requestId])).toEqual(stored.map((r) => [r.id, r.requestId]));
  });
});
