// The floor again, mounted the way keyrelay mounts its proxy: an h3 v2 app
// served by crossws/srvx, the forwarder as a Node-style handler (keyrelay's
// nodeRoute, from dist/). The gap between this and bare-forwarder.mjs is what
// the framework costs; the gap between this and keyrelay is keyrelay's own work.
import { serve } from 'crossws/server';
import { H3 } from 'h3';
import { nodeRoute } from '../dist/h3-node-route.js';
import { createForward } from './forward.mjs';

const forwardTo = createForward(process.argv[2]);
const forward = (req, res) => new Promise((resolve) => forwardTo(req, res, resolve));

const app = new H3();
app.get('/healthz', () => ({ status: 'ok' }));
app.all('/proxy/**', nodeRoute(forward));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false });
await server.ready();
process.send?.({ port: server.node.server.address().port });
process.on('disconnect', () => process.exit(0));
