// The built dashboard as the gateway serves it: page URLs fall back to
// index.html (no-cache, strict CSP), hashed assets are immutable, and the
// gateway's own routes answer as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { DASHBOARD_PAGES, DEFAULT_DASHBOARD_DIR, contentSecurityPolicy } from '../../../src/dashboard/serve-dashboard.ts';

let t: TestGateway;

describe('serving the dashboard', () => {
  beforeAll(async () => {
    // `npm install` (prepare) and `npm test` (pretest) build it.
    expect(existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html')), 'dist/web/ is missing: run npm run build:web').toBe(true);
    t = await startTestGateway();
  });
  afterAll(() => t?.close());

  it('answers every page URL with index.html, revalidated, under a CSP without inline scripts', async () => {
    for (const page of DASHBOARD_PAGES) {
      const res = await fetch(t.url + page);
      expect(res.status, page).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain(`connect-src 'self' ws://${new URL(t.url).host} wss://${new URL(t.url).host}`);
      const html = await res.text();
      expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    const again = await fetch(t.url + '/', { headers: { 'if-none-match': (await fetch(t.url + '/')).headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets gzipped with a year-long immutable cache, and 404s unknown ones', async () => {
    const html = await (await fetch(t.url + '/')).text();
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)![1];
    const res = await fetch(t.url + script, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await res.text()).length).toBeGreaterThan(1000);
    expect((await fetch(t.url + '/assets/nope.js')).status).toBe(404);
  });

  it('leaves the gateway routes alone', async () => {
    expect(await (await fetch(t.url + '/healthz')).json()).toEqual({ status: 'ok' });
    expect((await fetch(t.url + '/readyz')).status).toBe(200);
    expect((await fetch(t.url + '/metrics')).status).toBe(200);
    const gql = await fetch(t.url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"query":"{ upstreams { id } }"}' });
    expect(await gql.json()).toEqual({ data: { upstreams: [] } });
    // The proxy's own answer (without a token: 401, whatever the upstream name), not the dashboard's page.
    const proxy = await fetch(t.url + '/proxy/none/v1/models');
    expect(proxy.status).toBe(401);
    expect(proxy.headers.get('content-security-policy')).toBeNull();
    const unknown = await fetch(t.url + '/not-a-page');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
  });

  it('echoes only a well-formed host into connect-src', () => {
    expect(contentSecurityPolicy('gw.example.com:8443')).toContain("connect-src 'self' ws://gw.example.com:8443 wss://gw.example.com:8443;");
    expect(contentSecurityPolicy("evil.com; script-src 'unsafe-inline'")).toContain("connect-src 'self';");
    expect(contentSecurityPolicy(null)).toContain("connect-src 'self';");
  });
});
