// A TCP relay in front of the gateway, so a test can cut the browser's
// WebSocket from the server side (the browser sees the connection drop) and
// refuse its reconnection until the page has shown that it is disconnected.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class Relay {
  url = '';
  /** While set, new WebSocket upgrades are dropped (the client's retries fail). */
  refuseWebSockets = false;
  readonly #server: Server;
  readonly #sockets = new Map<Socket, { peer: Socket; ws: boolean }>();

  constructor(readonly target: URL) {
    this.#server = createServer((client) => this.#relay(client));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #relay(client: Socket): void {
    client.once('data', (first: Buffer) => {
      const ws = /^upgrade:\s*websocket/im.test(first.toString('latin1'));
      if (ws && this.refuseWebSockets) return client.destroy();
      const peer = connect(Number(this.target.port), this.target.hostname, () => {
        peer.write(first);
        client.pipe(peer).pipe(client);
      });
      const entry = { peer, ws };
      this.#sockets.set(client, entry);
      const close = () => {
        this.#sockets.delete(client);
        client.destroy();
        peer.destroy();
      };
      client.on('close', close).on('error', close);
      peer.on('close', close).on('error', close);
    });
  }

  /** Destroys every open WebSocket connection; returns how many. */
  cutWebSockets(): number {
    let cut = 0;
    for (const [client, { peer, ws }] of this.#sockets) {
      if (!ws) continue;
      client.destroy();
      peer.destroy();
      cut++;
    }
    return cut;
  }

  async close(): Promise<void> {
    for (const [client, { peer }] of this.#sockets) {
      client.destroy();
      peer.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
