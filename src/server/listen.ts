import cluster from 'node:cluster';
import { serve } from 'crossws/server';
import type { Server } from 'srvx';
import type { Logger } from '../logger.ts';
import { trackForDrain } from '../server-drain.ts';
import { resolveWebSocket } from '../ws-upgrade.ts';

export interface Listening {
  server: Server;
  /** The address clients use (a wildcard host is reached on loopback). */
  url: string;
  /** Stops accepting, lets in-flight requests (streams included) finish for up to `drainMs`, then cuts what is left. */
  close(drainMs: number): Promise<void>;
}

/** Serves the app (HTTP and WebSocket upgrades) on one port. */
export async function listen(
  app: { fetch: (req: Request) => Response | Promise<Response> },
  opts: { port: number; host: string; log: Logger; interruptStreams?: () => Promise<number> },
): Promise<Listening> {
  const server: Server = serve({
    fetch: app.fetch,
    port: opts.port,
    hostname: opts.host,
    silent: true,
    gracefulShutdown: false,
    // srvx listens exclusively unless told reusePort; KEYRELAY_INSTANCES' workers must share the primary's socket on one port.
    reusePort: cluster.isWorker,
    websocket: { resolve: resolveWebSocket(app as Parameters<typeof resolveWebSocket>[0]), options: { node: { serverOptions: { maxPayload: 1024 * 1024 } } } } as never,
  });
  await server.ready();
  const address = server.node?.server?.address();
  const port = address && typeof address === 'object' ? address.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  // After ready(): the server has its request handler, which the drain puts behind its own check.
  const drain = server.node?.server ? trackForDrain(server.node.server as never) : null;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close(drainMs) {
      drain?.start();
      const drained = server.close(false);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([drained.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), drainMs)))]);
      clearTimeout(timer);
      if (!waited) {
        const streams = (await opts.interruptStreams?.()) ?? 0;
        opts.log.warn({ drainMs, streams }, 'in-flight requests still open at shutdown; closing them');
        await server.close(true);
      }
      drain?.stop();
    },
  };
}
