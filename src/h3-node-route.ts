// Mounting a Node-style handler on an h3 v2 route.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { H3Event } from 'h3';

/** What h3's own Node adapter (fromNodeHandler) resolves with once a Node handler answered: srvx then leaves the response alone. */
const H3_HANDLED = Symbol.for('h3.handled');

/**
 * Mounts a Node-style handler (raw req/res, undici streaming into the
 * response, no web Request/Response on the hot path) whose promise settles
 * once the response is over. h3's fromNodeHandler learns the same through
 * four listeners and a promise of its own per request; the proxy's promise
 * already says it, which saves ~3 µs of CPU per request.
 */
export function nodeRoute(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  return (event: H3Event) => {
    const node = event.runtime?.node;
    if (node?.res === undefined) throw new Error('the proxy route needs the Node.js server');
    const res = node.res as unknown as ServerResponse;
    // A write after the end emits 'error'; with no listener that would end the process (fromNodeHandler listened too).
    res.on('error', ignoreResponseError);
    return handler(node.req as unknown as IncomingMessage, res).then(() => H3_HANDLED);
  };
}

function ignoreResponseError(): void {}
