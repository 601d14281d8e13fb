import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, send } from '../proxy/support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the browser test needs it too, and says so.
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`CI needs a browser at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!haveBrowser)('GraphiQL in a real browser', { timeout: 180_000 }, () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let browser: Browser;
  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await mock?.close();
  });

  /** The first screen: only the token field; GraphiQL opens once the token is accepted. */
  async function openWithToken(page: Page, token: string): Promise<string[]> {
    const schemaRequests: string[] = [];
    page.on('response', (res) => {
      if (res.url().startsWith(`${t.url}/graphql`) && res.request().method() === 'POST') schemaRequests.push(`${res.status()} ${res.request().postData() ?? ''}`.slice(0, 80));
    });
    await page.goto(`${t.url}/graphql`);
    await page.waitForSelector('#keyrelay-token-input', { timeout: 30_000 });
    expect(await page.locator('#keyrelay-token').textContent()).toContain('Paste the admin token');
    // Nothing is fetched before the token is there: no 401 on the first screen.
    expect(schemaRequests).toEqual([]);
    await page.fill('#keyrelay-token-input', token);
    await page.click('#keyrelay-token button[type=submit]');
    return schemaRequests;
  }

  /** Replaces an editor's text (Monaco auto-closes brackets and quotes as one types). */
  async function typeInto(page: Page, index: number, text: string): Promise<void> {
    await page.locator('.monaco-editor').nth(index).click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(text);
    await page.keyboard.press('Shift+Control+End');
    await page.keyboard.press('Delete');
  }

  it('a first screen asks for the token and says where it comes from; a wrong one is refused there', async () => {
    const page = await browser.newPage();
    await openWithToken(page, 'not-the-admin-token-0000');
    await page.waitForFunction(() => document.querySelector('#keyrelay-token .error')?.textContent?.includes('refused'), null, { timeout: 20_000 });
    expect(await page.locator('.graphiql-container').count()).toBe(0);
    await page.close();
  });

  it('paste only the admin token: the schema loads at once, a requestLogged subscription shows a proxied request, and the token is not persisted', async () => {
    const page = await browser.newPage();
    const responses = await openWithToken(page, ADMIN_TOKEN);
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    // The schema was fetched with the token (no 401 anywhere).
    await expect.poll(() => responses.some((r) => r.startsWith('200') && r.includes('IntrospectionQuery')), { timeout: 30_000 }).toBe(true);
    expect(responses.filter((r) => r.startsWith('401'))).toEqual([]);
    expect(await page.locator('body').textContent()).not.toContain('Error fetching schema');

    const up = await createUpstream(t, mock, { name: 'graphiql-sub' }, [{ value: 'sk-graphiql-sub-000000000000000000' }]);
    const client = await createToken(t);
    await typeInto(page, 0, `subscription { requestLogged(upstreamId: "${up.id}") { status path } }`);
    const subscribed = page.waitForRequest((req) => req.url().includes('/graphql?') && (req.headers()['accept'] ?? '').includes('text/event-stream'), { timeout: 30_000 });
    await page.locator('.graphiql-execute-button').click();
    await subscribed;
    // The subscription is live once GraphiQL shows it running; a request sent before then could be missed, so send until seen.
    await expect
      .poll(
        async () => {
          await send(t.url, { path: '/proxy/graphiql-sub/v1/seen-in-graphiql', headers: bearer(client.token) });
          return (await page.locator('.result-window').textContent()) ?? '';
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toContain('/v1/seen-in-graphiql');
    const result = (await page.locator('.result-window').textContent()) ?? '';
    expect(result).not.toContain('CSRF');
    expect(result).not.toContain('UNAUTHENTICATED');

    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(ADMIN_TOKEN);
    await page.close();
  });

  it('loads from the gateway itself (no CDN) and runs a query with the admin token', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(t.url) && !req.url().startsWith('blob:') && !req.url().startsWith('data:')) external.push(req.url());
    });
    await openWithToken(page, ADMIN_TOKEN);
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    expect(external).toEqual([]);
    // The token screen filled in the headers editor; a person runs a query.
    await typeInto(page, 0, '{ upstreams { name } }');
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => document.querySelector('.result-window')?.textContent?.includes('"upstreams"'), null, { timeout: 30_000 });
    expect(await page.locator('.result-window').textContent()).not.toContain('UNAUTHENTICATED');
    if (process.env.KEYRELAY_SCREENSHOT) await page.screenshot({ path: process.env.KEYRELAY_SCREENSHOT });
    await page.close();
  });
});
