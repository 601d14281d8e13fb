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
  /**
   * Loses the answer to the next message a client sends that contains
   * `marker` (e.g. PostgreSQL's COMMIT): the message reaches the service, then
   * that connection is cut before the answer comes back, so the client cannot
   * know whether it took effect. Resolves when it happened.
   */
  loseAnswerTo(marker: string): Promise<void>;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const open = new Set<Socket>();
  let cut = false;
  let losing: { marker: Buffer; done: () => void } | null = null;
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
    client.on('data', (chunk: Buffer) => {
      if (losing !== null && chunk.includes(losing.marker)) {
        const { done } = losing;
        losing = null;
        upstream.write(chunk);
        // The client hears nothing more; the service gets the message whole and then an orderly end.
        client.removeAllListeners('close').removeAllListeners('error').on('error', () => {});
        client.destroy();
        open.delete(client);
        setTimeout(() => upstream.end(), 200);
        done();
        return;
      }
      upstream.write(chunk);
    });
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
    loseAnswerTo(marker) {
      return new Promise((resolve) => (losing = { marker: Buffer.from(marker), done: resolve }));
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
