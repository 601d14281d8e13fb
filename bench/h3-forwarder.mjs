// The floor again, mounted the way keyrelay mounts its proxy: an h3 v2 app
// served by crossws/srvx, the forwarder as a Node-style handler (keyrelay's
// nodeRoute, from dist/). The gap between this and bare-forwarder.mjs is what
// the framework costs; the gap between this and keyrelay is keyrelay's own work.
import { serve } from 'crossws/server';
import { H3 } from 'h3';
import { Pool } from 'undici';
import { nodeRoute } from '../dist/h3-node-route.js';

const upstream = process.argv[2];
const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);

const forward = (req, res) =>
  new Promise((resolve) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers.authorization = 'Bearer sk-bench-key';
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool.stream(
      { path: req.url.replace(/^\/proxy\/[^/]+/, ''), method: req.method, headers, body: hasBody ? req : null },
      ({ statusCode, headers: h }) => {
        const out = {};
        for (const [k, v] of Object.entries(h)) if (!HOP.has(k)) out[k] = v;
        res.writeHead(statusCode, out);
        return res;
      },
      (err) => {
        if (err && !res.headersSent) {
          res.writeHead(502);
          res.end();
        } else if (err) res.destroy();
        resolve();
      },
    );
  });

const app = new H3();
app.get('/healthz', () => ({ status: 'ok' }));
app.all('/proxy/**', nodeRoute(forward));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false });
await server.ready();
process.send?.({ port: server.node.server.address().port });
process.on('disconnect', () => process.exit(0));
