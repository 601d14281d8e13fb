// Request and response sizes past 32 bits (a body over 2 GiB): stored as
// 64-bit integers by the log writer, published exact, and read back exact
// through Prisma, requestLogs, requestLog(id), the requestLogged subscription
// and stats, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestLogged } from '../../../src/events/bus.ts';
import type { LogEntry } from '../../../src/logs/log-entry.ts';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { sseEvents, sseSubscribe, subscribed } from './support.ts';

const BYTES_IN = 3_000_000_000; // over 2^31
const BYTES_OUT = 2 ** 40 + 7; // over 2^32, odd: any rounding would show

const Logs = graphql(`query BytesLogs($requestId: String!) { requestLogs(first: 1, filter: { requestId: $requestId }) { edges { node { id bytesIn bytesOut } } } }`);
const LogById = graphql(`query BytesLogById($id: ID!) { requestLog(id: $id) { bytesIn bytesOut } }`);
const Live = graphql(`subscription BytesLive { requestLogged { requestId bytesIn bytesOut } }`);
const Totals = graphql(`query BytesStats($from: DateTime!, $to: DateTime!) { stats(from: $from, to: $to) { totals { requests bytesIn bytesOut } } }`);

function entry(requestId: string, createdAt: number): LogEntry {
  return {
    createdAt, requestId, upstreamId: null, keyId: null, accessTokenId: null, method: 'GET', path: '/big', status: 200, outcome: 'ok',
    latencyMs: 9, overheadMs: 0.2, attempts: 1, bytesIn: BYTES_IN, bytesOut: BYTES_OUT, clientIp: null, error: null, model: null,
    stream: false, usage: null, matchedRules: null, requestBody: null, responseBody: null, bodyTruncated: false, secrets: [],
  };
}

describe.each(PROVIDERS)('request log sizes over 32 bits on %s', (provider) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are stored, published and read back exactly', async () => {
    const abort = new AbortController();
    const ready = subscribed(t.gateway.events, 'requestLog:created');
    const res = await sseSubscribe(t.url, Live, {}, abort.signal);
    await ready;
    const published: RequestLogged[] = [];
    const bus = t.gateway.events.subscribe('requestLog:created');
    const collecting = (async () => {
      for await (const row of bus) {
        published.push(row);
        return;
      }
    })();
    const at = Date.now();
    const requestId = `big-${provider}`;
    t.gateway.logs.enqueue(entry(requestId, at));
    await t.gateway.logs.flush();
    await collecting;
    // The writer refused nothing (PostgreSQL's 32-bit column did: out of range).
    expect(published.map((r) => [r.requestId, r.bytesIn, r.bytesOut])).toEqual([[requestId, BYTES_IN, BYTES_OUT]]);

    const events = sseEvents(res);
    for (;;) {
      const { value, done } = await events.next();
      if (done) throw new Error('SSE stream ended');
      if (value.event !== 'next') continue;
      expect(value.data).toEqual({ data: { requestLogged: { requestId, bytesIn: BYTES_IN, bytesOut: BYTES_OUT } } });
      break;
    }
    abort.abort();

    if (provider === 'sqlite') {
      // The migration left SQLite's columns as they were (INTEGER is 64-bit there): no table rebuild.
      const declared = await t.gateway.db.sql.query<{ name: string; type: string }>(`SELECT "name", "type" FROM pragma_table_info('RequestLog') WHERE "name" IN ('bytesIn', 'bytesOut') ORDER BY "name"`);
      expect(declared).toEqual([{ name: 'bytesIn', type: 'INTEGER' }, { name: 'bytesOut', type: 'INTEGER' }]);
    }
    const row = await t.gateway.db.prisma.requestLog.findFirstOrThrow({ where: { requestId } });
    expect([row.bytesIn, row.bytesOut]).toEqual([BigInt(BYTES_IN), BigInt(BYTES_OUT)]);
    const listed = (await gqlOk(t.url, Logs, { requestId })).requestLogs.edges[0]!.node;
    expect(listed).toEqual({ id: String(row.id), bytesIn: BYTES_IN, bytesOut: BYTES_OUT });
    expect((await gqlOk(t.url, LogById, { id: String(row.id) })).requestLog).toEqual({ bytesIn: BYTES_IN, bytesOut: BYTES_OUT });

    t.gateway.logs.enqueue(entry(`${requestId}-2`, at + 1));
    await t.gateway.logs.flush();
    const window = { from: new Date(at - 60_000).toISOString(), to: new Date(at + 60_000).toISOString() };
    expect((await gqlOk(t.url, Totals, window)).stats.totals).toEqual({ requests: 2, bytesIn: 2 * BYTES_IN, bytesOut: 2 * BYTES_OUT });
  });
});
