import { H3, defineWebSocketHandler } from 'h3';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hooks } from 'crossws';
import type { KeyrelayYoga } from './graphql/yoga.ts';
import { nodeRoute } from './h3-node-route.ts';
import { GRAPHIQL_ASSET_PREFIX, readGraphiQLAsset } from './graphql/graphiql.ts';
import { mountDashboard } from './dashboard/serve-dashboard.ts';
import { limitBody } from './graphql/body-limit.ts';

export interface AppParts {
  yoga: KeyrelayYoga;
  wsHooks: Partial<Hooks>;
  proxy: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  graphqlMaxBodyBytes: number;
}

/** Builds the h3 app from its parts; it does not listen (main and the tests do). */
export function createApp(parts: AppParts): H3 {
  const app = new H3({
    onError: (error) => {
      const status = (error as { status?: number }).status ?? 500;
      return new Response(JSON.stringify({ error: { code: status === 404 ? 'NOT_FOUND' : 'ERROR', message: status === 404 ? 'not found' : 'internal error' } }), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    },
  });

  app.get(`${GRAPHIQL_ASSET_PREFIX}**`, async (event) => {
    const asset = await readGraphiQLAsset(event.url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length));
    if (!asset) return new Response('not found', { status: 404 });
    return new Response(new Uint8Array(asset.body), { headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=86400' } });
  });

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    const result = await parts.readiness();
    return new Response(JSON.stringify({ status: result.ready ? 'ready' : 'not ready', checks: result.checks }), {
      status: result.ready ? 200 : 503,
      headers: { 'content-type': 'application/json' },
    });
  });
  if (parts.metrics) {
    const metrics = parts.metrics;
    app.get('/metrics', async () => {
      const { contentType, body } = await metrics();
      return new Response(body, { headers: { 'content-type': contentType } });
    });
  }

  app.all('/proxy/**', nodeRoute(parts.proxy));
  // The operator's dashboard: static files at `/` and its page URLs (src/dashboard/).
  mountDashboard(app);

  app.all(
    '/graphql',
    defineWebSocketHandler(parts.wsHooks, async (event) => {
      const req = await limitBody(event.req, parts.graphqlMaxBodyBytes);
      return req instanceof Response ? req : parts.yoga.fetch(req);
    }),
  );
  return app;
}
