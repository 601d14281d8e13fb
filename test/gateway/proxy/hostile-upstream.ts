// A hostile upstream for the hardening suites: answers with whatever status
// and body the test asks for, echoing the credential it received into
// response headers (as some APIs do in `www-authenticate` or debug headers).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostileUpstream {
  url: string;
  hits: number;
  close(): Promise<void>;
}

/** The credential as the upstream saw it: bearer, named header or `?key=`. */
export function credentialOf(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const named = req.headers['x-goog-api-key'];
  if (typeof named === 'string') return named;
  return new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
}

/** `respond` returns status, headers and body for each request (the body already read). */
export async function startHostileUpstream(
  respond: (req: IncomingMessage, body: Buffer) => { status: number; headers?: Record<string, string | string[]>; body?: string | Buffer },
): Promise<HostileUpstream> {
  const upstream: HostileUpstream = { url: '', hits: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    upstream.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = respond(req, Buffer.concat(chunks));
      res.writeHead(out.status, out.headers ?? {});
      res.end(out.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  upstream.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return upstream;
}
