// The floor's forwarding, shared by bare-forwarder.mjs and h3-forwarder.mjs so
// the two differ only in how they are served: node:http + an undici Pool
// streaming into the response, with no key pool, rules or logging.
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);

/** `forward(req, res, done)`: proxies one request to `upstream`; `done` runs once the response is over. */
export function createForward(upstream) {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
  return (req, res, done) => {
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
        done();
      },
    );
  };
}
