import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between keyrelay and a service of the machine (Redis,
 * PostgreSQL), so a test can make an outage without stopping the service:
 * cut() drops every open connection and refuses new ones until restore().
 */
export interface TcpRelay {
  /** 127.0.0.1:<port> of the relay. */
  readonly port: number;
  /** The service's URL with its host and port replaced by the relay's. */
  url(serviceUrl: string): string;
  cut(): void;
  restore(): void;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const open = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = () => {
    cut = true;
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port,
    url(serviceUrl) {
      const url = new URL(serviceUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    cut: cutAll,
    restore() {
      cut = false;
    },
    get connections() {
      return open.size / 2;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
