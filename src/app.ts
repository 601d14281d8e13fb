import { ERROR_CODES, errorBody, type ErrorCode } from './error-codes.ts';
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

/** keyrelay's one JSON error shape (error-codes.ts) for what the app answers outside the proxy and GraphQL. */
function jsonError(code: ErrorCode, message: string, status: number = ERROR_CODES[code].status): Response {
  return new Response(errorBody(code, message), { status, headers: { 'content-type': 'application/json' } });
}

/** Builds the h3 app from its parts; it does not listen (main and the tests do). */
export function createApp(parts: AppParts): H3 {
  const app = new H3({
    onError: (error) => {
      const status = (error as { status?: number }).status ?? 500;
      if (status === 404) return jsonError('NOT_FOUND', 'not found');
      // The status h3 chose stays; the code says which family it is in.
      return jsonError(status < 500 ? 'BAD_REQUEST' : 'INTERNAL', status < 500 ? 'bad request' : 'internal error', status);
    },
  });

  app.get(`${GRAPHIQL_ASSET_PREFIX}**`, async (event) => {
    const asset = await readGraphiQLAsset(event.url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length));
    if (!asset) return jsonError('NOT_FOUND', 'not found');
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
