import { serve } from 'crossws/server';
import { H3 } from 'h3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRoute } from '../src/h3-node-route.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('nodeRoute: a Node-style handler on an h3 route', () => {
  let server: ReturnType<typeof serve>;
  let url: string;
  let lateWriteErrors = 0;

  beforeAll(async () => {
    const app = new H3();
    app.all(
      '/stream',
      nodeRoute(async (_req, res) => {
        res.writeHead(201, { 'content-type': 'text/plain', 'x-handler': 'node' });
        for (const part of ['one ', 'two ', 'three']) {
          res.write(part);
          await tick(20);
        }
        res.end();
      }),
    );
    app.all(
      '/late-write',
      nodeRoute(async (_req, res) => {
        res.end('done');
        // A bug of this kind must not take the process down.
        res.write('too late', (error) => {
          if (error) lateWriteErrors++;
        });
      }),
    );
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false });
    await server.ready();
    const address = server.node!.server!.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await server.close(true);
  });

  it('leaves the response to the handler until its promise settles: status, headers and every chunk as written', async () => {
    const res = await fetch(`${url}/stream`);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-handler')).toBe('node');
    expect(await res.text()).toBe('one two three');
  });

  it('survives a write after the end', async () => {
    const res = await fetch(`${url}/late-write`);
    expect(await res.text()).toBe('done');
    await tick(20);
    expect(lateWriteErrors).toBe(1);
    // Still serving.
    expect((await fetch(`${url}/stream`)).status).toBe(201);
  });
});
