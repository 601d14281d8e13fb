// Serves the operator's dashboard (web/, built by vite into dist/web/) at `/`.
// The files are few and small, so they are read and gzipped once at startup
// and answered from memory; the proxy and GraphQL routes are untouched.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { H3, H3Event } from 'h3';

/** The page URLs the dashboard routes itself; each answers with index.html (reload and deep links work). */
export const DASHBOARD_PAGES = ['/', '/upstreams', '/keys', '/rules', '/logs', '/jobs', '/tokens'];

/** src/dashboard/ and dist/dashboard/ both sit two levels below the package root. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer> | null;
  type: string;
  etag: string;
}

function loadAsset(path: string): Asset {
  const body = new Uint8Array(readFileSync(path));
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  const gzip = type.startsWith('text/') || type === 'image/svg+xml' || type === 'application/json' ? new Uint8Array(gzipSync(body, { level: 9 })) : null;
  return { body, gzip, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Hosts only: a Host header is echoed into the CSP, so nothing else may pass. */
const HOST_PATTERN = /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * No inline script or style, nothing from another origin. connect-src names the
 * same-origin ws:/wss: URL too, for browsers whose 'self' does not cover WebSockets.
 */
export function contentSecurityPolicy(host: string | null): string {
  const sockets = host && HOST_PATTERN.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function respond(event: H3Event, asset: Asset, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'content-type': asset.type,
    'cache-control': cacheControl,
    etag: asset.etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (asset.type.startsWith('text/html')) {
    headers['content-security-policy'] = contentSecurityPolicy(event.req.headers.get('host'));
    headers['x-frame-options'] = 'DENY';
  }
  if (event.req.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers });
  const gzip = asset.gzip && /\bgzip\b/.test(event.req.headers.get('accept-encoding') ?? '');
  if (gzip) headers['content-encoding'] = 'gzip';
  return new Response(event.req.method === 'HEAD' ? null : (gzip ? asset.gzip! : asset.body), { headers });
}

/** Adds the dashboard's routes; without a build (dist/web/ missing) the pages say how to build it. */
export function mountDashboard(app: H3, dir = DEFAULT_DASHBOARD_DIR): void {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) {
    const missing = () => new Response('The dashboard is not built: run `npm install` (or `npm run build:web`).\n', { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    for (const page of DASHBOARD_PAGES) app.get(page, missing);
    return;
  }
  const index = loadAsset(indexPath);
  const assetsDir = join(dir, 'assets');
  const assets = new Map<string, Asset>();
  for (const name of existsSync(assetsDir) ? readdirSync(assetsDir) : []) assets.set(name, loadAsset(join(assetsDir, name)));

  // index.html is revalidated every time, so a new build is picked up at once;
  // the hashed assets it names never change under their name.
  for (const page of DASHBOARD_PAGES) app.get(page, (event) => respond(event, index, 'no-cache'));
  app.get('/assets/**', (event) => {
    const asset = assets.get(event.url.pathname.slice('/assets/'.length));
    if (!asset) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
    return respond(event, asset, 'public, max-age=31536000, immutable');
  });
}
