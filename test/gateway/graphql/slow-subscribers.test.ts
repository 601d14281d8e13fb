// A subscriber that stops reading must not make the gateway hold every event
// for it: SSE is bounded by the per-subscription queue (Yoga stops pulling
// when the socket is full), WebSocket by the socket backlog limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import WebSocket from 'ws';
import { graphql } from '../../generated/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { logEvent, sseSubscribe, subscribed, wsUrl } from './support.ts';

const RequestLoggedScalars = graphql(`subscription RequestLoggedScalars { requestLogged { id path status } }`);

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

const path = `/v1/${'p'.repeat(8000)}`;
async function flood(count: number) {
  for (let id = 1; id <= count; id++) {
    t.gateway.events.publish('requestLog:created', logEvent({ id, path }));
    if (id % 500 === 0) await new Promise(setImmediate);
  }
}
const lines = (text: string) => () => t.logLines.filter((l) => l.includes(text)).length;

describe('a subscriber that stops reading', () => {
  it('over SSE: events queue up to the bound, then are dropped and counted, with one warning', async () => {
    const abort = new AbortController();
    const ready = subscribed(t.gateway.events, 'requestLog:created');
    const res = await sseSubscribe(t.url, RequestLoggedScalars, {}, abort.signal);
    await ready;
    await flood(6000); // the client never reads
    await expect.poll(lines('"slow subscriber: dropping events"')).toBe(1);
    abort.abort();
    await res.body?.cancel().catch(() => {});
    await expect.poll(lines('slow subscriber closed; events were dropped')).toBe(1);
    const closed = JSON.parse(t.logLines.find((l) => l.includes('slow subscriber closed'))!) as { dropped: number };
    console.log(`[SSE] stalled subscriber: ${closed.dropped} of 6000 events dropped`);
    expect(closed.dropped).toBeGreaterThan(0);
  });

  it('over graphql-ws: events are dropped while the socket backlog is over the limit', async () => {
    const socket = new WebSocket(wsUrl(t.url), 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await new Promise((resolve) => socket.once('message', resolve)); // connection_ack
    const ready = subscribed(t.gateway.events, 'requestLog:created');
    socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: print(RequestLoggedScalars) } }));
    await ready;
    socket.pause(); // stop reading: the server's send buffer grows
    await flood(6000);
    await expect.poll(lines('slow WebSocket subscriber: dropping events')).toBe(1);
    socket.resume();
    socket.terminate();
    await expect.poll(lines('slow WebSocket subscriber closed; events were dropped')).toBe(1);
    const closed = JSON.parse(t.logLines.find((l) => l.includes('slow WebSocket subscriber closed'))!) as { dropped: number };
    console.log(`[graphql-ws] stalled subscriber: ${closed.dropped} of 6000 events dropped`);
    expect(closed.dropped).toBeGreaterThan(0);
  });
});
