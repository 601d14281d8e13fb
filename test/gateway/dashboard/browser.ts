// One headless Chromium per test file (playwright-core drives the system's
// Debian Chromium), with every console error/warning and page error recorded.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** CI installs Debian's chromium (.ci/run); elsewhere the browser tests are skipped with a notice when it is missing. */
export const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.CI) throw new Error(`CI needs a browser at ${CHROMIUM} (apt-get install chromium)`);
if (!HAVE_BROWSER) console.warn(`dashboard browser tests skipped: no browser at ${CHROMIUM} (apt-get install chromium)`);
/** Screenshots of every page at both widths (gitignored; the README names the folder). */
export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'screenshots');

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** "error: …" / "warning: …" lines from the console and uncaught page errors. */
  problems: string[];
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()} (${page.url()})`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message} (${page.url()})`));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    context,
    page,
    problems,
    async screenshot(name) {
      await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      await browser.close();
    },
  };
}
