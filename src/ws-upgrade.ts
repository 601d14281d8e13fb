// Which WebSocket upgrades the server accepts: only /graphql (graphql-ws),
// decided from the URL before any route runs. Anything else is answered 404
// on the raw socket and closed, so a stray upgrade on /proxy/*, /healthz or an
// unknown path neither holds a socket open nor reaches a handler that
// expects a plain HTTP request.

import type { H3 } from 'h3';

export const WEBSOCKET_PATH = '/graphql';

const refuse = {
  upgrade: () => new Response('WebSocket upgrades are served on /graphql only', { status: 404, headers: { connection: 'close', 'content-type': 'text/plain' } }),
};

/** crossws's `resolve`: the hooks for an upgrade request, or hooks that refuse it. */
export function resolveWebSocket(app: H3) {
  return async (req: Request): Promise<object> => {
    if (new URL(req.url).pathname !== WEBSOCKET_PATH) return refuse;
    const res = (await app.fetch(req)) as Response & { crossws?: object };
    return res.crossws ?? refuse;
  };
}
