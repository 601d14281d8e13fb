import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayState } from '../state/gateway-state.ts';

export interface ProxyDeps {
  state: GatewayState;
}

/** Writes keyrelay's JSON error shape for proxy clients. */
export function sendProxyError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** ANY /proxy/{upstream}/{path}: a Node-style handler (raw req/res), the hot path. */
export function createProxyHandler(deps: ProxyDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const rest = url.slice('/proxy/'.length);
    const end = rest.search(/[/?]/);
    const name = decodeURIComponent(end === -1 ? rest : rest.slice(0, end));
    const upstream = deps.state.upstreamsByName.get(name);
    if (!upstream || !upstream.config.enabled) return sendProxyError(res, 404, 'UNKNOWN_UPSTREAM', `no enabled upstream named "${name}"`);
    sendProxyError(res, 501, 'NOT_IMPLEMENTED', 'forwarding is not implemented yet');
  };
}
