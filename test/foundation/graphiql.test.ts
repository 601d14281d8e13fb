import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the browser test needs it too, and says so.
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`CI needs a browser at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!haveBrowser)('GraphiQL in a real browser', () => {
  let t: TestGateway;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestGateway();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads from the gateway itself (no CDN) and runs a query with the admin token', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(t.url) && !req.url().startsWith('blob:') && !req.url().startsWith('data:')) external.push(req.url());
    });
    await page.goto(`${t.url}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    expect(external).toEqual([]);
    // A person pastes the token into the headers editor and runs a query.
    const editors = page.locator('.monaco-editor');
    const clearAfterCursor = async () => {
      await page.keyboard.press('Shift+Control+End');
      await page.keyboard.press('Delete');
    };
    await editors.nth(2).click(); // headers (query, variables, headers)
    await page.keyboard.press('Control+A');
    await page.keyboard.type(JSON.stringify({ Authorization: `Bearer ${ADMIN_TOKEN}` }));
    await clearAfterCursor(); // Monaco auto-closes brackets and quotes as one types
    await editors.nth(0).click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{ upstreams { name } }');
    await clearAfterCursor();
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => document.querySelector('.result-window')?.textContent?.includes('"upstreams"'), null, { timeout: 10_000 });
    expect(await page.locator('.result-window').textContent()).not.toContain('UNAUTHENTICATED');
    if (process.env.KEYRELAY_SCREENSHOT) await page.screenshot({ path: process.env.KEYRELAY_SCREENSHOT });
    await page.close();
  });
});
