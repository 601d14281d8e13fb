// Draining the HTTP server at shutdown. Closing the listener is not enough:
// a keep-alive connection that is idle, or becomes idle when its response
// ends, would carry new requests for the whole drain. Once draining starts:
// idle connections are closed (and again as responses finish), a response
// whose head is not sent yet says `connection: close`, one whose head is
// already out is followed by closing its connection, and a request that still
// arrives on an old connection is answered 503 with `connection: close`
// instead of being served.

import type { IncomingMessage, Server as NodeServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './error-codes.ts';

const SWEEP_MS = 50;
const REFUSAL = errorBody('GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');

export interface Drain {
  start(): void;
  stop(): void;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Call once the server has its request handler (after it is ready). */
export function trackForDrain(server: NodeServer): Drain {
  const sockets = new Set<Socket>();
  let draining = false;
  let sweep: NodeJS.Timeout | null = null;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // The serving listeners run behind one branch, so a request during the drain never reaches them.
  const serving = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      res.shouldKeepAlive = false;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'content-length': Buffer.byteLength(REFUSAL) });
      res.end(REFUSAL);
      return;
    }
    for (const listener of serving) listener.call(server, req, res);
  });
  return {
    start() {
      if (draining) return;
      draining = true;
      for (const socket of sockets) {
        // Node keeps the response a connection is serving on the socket (`_httpMessage`).
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (!res) continue;
        if (!res.headersSent) res.shouldKeepAlive = false;
        else res.once('finish', () => socket.end());
      }
      server.closeIdleConnections();
      sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
      sweep.unref();
    },
    stop() {
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
    },
  };
}
