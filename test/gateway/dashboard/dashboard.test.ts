// The dashboard in a real headless Chromium against a real gateway (through a
// TCP relay the test can cut) and the mock upstream: one browser, one gateway,
// one page for the whole file, the tests in order like an operator's session.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { graphql } from '../../generated/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { subscribed } from '../graphql/support.ts';
import { send } from '../proxy/support.ts';
import { HAVE_BROWSER, openBrowser, type BrowserSession } from './browser.ts';
import { Relay } from './relay.ts';

const DashboardTestRule = graphql(`mutation DashboardTestRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const DashboardTestUpstreams = graphql(`query DashboardTestUpstreams { upstreams { id name maxRetries } }`);

const PAGES = [
  ['Overview', 'overview'],
  ['Upstreams', 'upstreams'],
  ['Keys', 'keys'],
  ['Rules', 'rules'],
  ['Logs', 'logs'],
  ['Jobs', 'jobs'],
  ['Tokens', 'tokens'],
] as const;

let t: TestGateway;
let mock: MockUpstream;
let relay: Relay;
let session: BrowserSession;
let page: Page;

async function goTo(name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe(name);
}

/** The text of the element a control's aria-describedby names (its error). */
async function describedBy(control: Locator): Promise<string | null> {
  return page.locator(`[id="${await control.getAttribute('aria-describedby')}"]`).textContent();
}

async function live(): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });
}

const proxy = (path: string, headers: Record<string, string> = {}) => send(t.url, { method: 'POST', path: `/proxy/mock${path}`, headers: { 'content-type': 'application/json', ...headers }, body: '{"model":"gpt-test","messages":[]}' });

describe.skipIf(!HAVE_BROWSER)('the dashboard in a browser', () => {
  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    relay = new Relay(new URL(t.url));
    await relay.listen();
    session = await openBrowser();
    page = session.page;
    // Fail a step in seconds, not at the test's timeout, so the error says which one.
    page.setDefaultTimeout(10_000);
  });

  afterAll(async () => {
    await session?.close();
    await relay?.close();
    await t?.close();
    await mock?.close();
  });

  it('signs in with the admin token, after saying a wrong one is wrong at the field', async () => {
    await page.goto(relay.url + '/');
    await session.screenshot('sign-in-1280');
    await page.setViewportSize({ width: 375, height: 800 });
    await session.screenshot('sign-in-375');
    await page.setViewportSize({ width: 1280, height: 800 });

    const field = page.getByLabel('Admin token');
    await field.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => field.getAttribute('aria-describedby')).toBeTruthy();
    expect(await describedBy(field)).toBe('Wrong admin token');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await field.fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
    await live();
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(['keyrelay.adminToken']);
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([]);
  });

  it('shows the server error for a bad base URL at that field', async () => {
    await goTo('Upstreams');
    await page.getByLabel('Name', { exact: true }).fill('broken');
    await page.getByLabel('Base URL').fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Create upstream' }).click();
    const baseUrl = page.getByLabel('Base URL');
    await expect.poll(() => baseUrl.getAttribute('aria-invalid')).toBe('true');
    const message = await describedBy(baseUrl);
    expect(message).toMatch(/http/i);
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBeNull();
    await session.screenshot('upstreams-error-1280');
  });

  it('creates an upstream from the form', async () => {
    await page.getByLabel('Name', { exact: true }).fill('mock');
    await page.getByLabel('Base URL').fill(mock.url);
    await page.getByLabel('Max retries').fill('0');
    await page.getByLabel('Allow requests without an access token').check();
    await page.getByRole('button', { name: 'Create upstream' }).click();
    await page.getByRole('button', { name: 'Edit mock' }).waitFor();
    const { upstreams } = await gqlOk(t.url, DashboardTestUpstreams, {});
    expect(upstreams).toEqual([expect.objectContaining({ name: 'mock', maxRetries: 0 })]);
  });

  it('edits an upstream in place', async () => {
    await page.getByRole('button', { name: 'Edit mock' }).click();
    const form = page.locator('.row-item form');
    await form.getByLabel('Timeout (ms)').fill('30000');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('timeout 30000 ms').waitFor();
  });

  it('imports three pasted keys and reports them', async () => {
    await goTo('Keys');
    await page.getByLabel('Keys to import').fill('sk-dash-aaaaaaaaaaaaaaaa1111\nsk-dash-bbbbbbbbbbbbbbbb2222\nsk-dash-cccccccccccccccc3333\n');
    await page.getByRole('button', { name: 'Import keys' }).click();
    await page.getByText('Added 3, skipped 0').waitFor();
    await expect.poll(() => page.locator('table.keys tbody tr').count()).toBe(3);
    expect(await page.locator('table.keys .badge').allTextContents()).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    // The secrets never come back to the page, only fingerprints; the export holds none either.
    expect(await page.content()).not.toContain('sk-dash-aaaa');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
    expect(download.suggestedFilename()).toBe('mock-keys.json');
    const exported = await readFile((await download.path())!, 'utf8');
    expect(JSON.parse(exported).map((k: { fingerprint: string }) => k.fingerprint)).toEqual(['…1111', '…2222', '…3333']);
    expect(exported).not.toContain('sk-dash');
  });

  it('shows proxied requests, with their paths, in the live tail within a second, without reloading', async () => {
    const listening = subscribed(t.gateway.events, 'requestLog:created');
    await goTo('Logs');
    await listening;
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    const paths = ['/v1/tail/one', '/v1/tail/two', '/v1/tail/three'];
    const responses = await Promise.all(paths.map((p) => proxy(p)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const sent = Date.now();
    for (const p of paths) await page.locator('table.logs .path', { hasText: p }).waitFor({ timeout: 1000 });
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    // Newest first: the last stored row is on top.
    expect(await page.locator('table.logs tbody tr').count()).toBe(3);

    await page.getByRole('button', { name: 'Details of POST /v1/tail/one' }).click();
    await page.getByText('Rules that fired').waitFor();
    expect(page.url()).toContain('log=');
    await session.screenshot('logs-detail-1280');
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('turns a key DISABLED live when a rule fires on traffic, and back to ACTIVE when it returns', async () => {
    const { upstreams } = await gqlOk(t.url, DashboardTestUpstreams, {});
    await gqlOk(t.url, DashboardTestRule, {
      input: { name: 'disable on 500', upstreamId: upstreams[0].id, condition: { status: { equals: 500 } }, actions: ['DISABLE_KEY'], threshold: 1, disableMode: 'DURATION', disableForSeconds: 2 },
    });
    const listening = subscribed(t.gateway.events, 'apiKey:stateChanged');
    await goTo('Keys');
    await listening;
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 2));
    const res = await proxy('/v1/fail', { 'x-mock': 'status:500' });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const badges = page.locator('table.keys .badge');
    await expect.poll(() => badges.allTextContents(), { timeout: 5000 }).toContain('DISABLED');
    expect((await badges.allTextContents()).filter((s) => s === 'DISABLED')).toHaveLength(1);
    await page.locator('.countdown').waitFor();
    await session.screenshot('keys-disabled-1280');
    await expect.poll(() => badges.allTextContents(), { timeout: 15_000 }).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(2);
  });

  it('says when the WebSocket is cut, reconnects, and the live tail flows again', async () => {
    await goTo('Logs');
    await live();
    relay.refuseWebSockets = true;
    expect(relay.cutWebSockets()).toBeGreaterThan(0);
    await page.getByRole('status').filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    await session.screenshot('logs-disconnected-1280');
    const listening = subscribed(t.gateway.events, 'requestLog:created');
    relay.refuseWebSockets = false;
    await live();
    await listening;
    const res = await proxy('/v1/after/reconnect');
    expect(res.status).toBe(200);
    await page.locator('table.logs .path', { hasText: '/v1/after/reconnect' }).waitFor({ timeout: 5000 });
  });

  it('changes a key by hand from its row', async () => {
    await goTo('Keys');
    const row = page.locator('table.keys tbody tr').first();
    const name = (await row.locator('td').first().textContent())!;
    await page.getByRole('button', { name: `Disable ${name}` }).click();
    await expect.poll(() => row.locator('.badge').textContent()).toBe('DISABLED');
    await page.getByRole('button', { name: `Enable ${name}` }).click();
    await expect.poll(() => row.locator('.badge').textContent()).toBe('ACTIVE');
  });

  it('builds a rule, tests it against recent logs, and stores it', async () => {
    await goTo('Rules');
    const form = page.locator('form.rule-form').last();
    await form.getByLabel('Rule name').fill('flag 500s');
    await form.getByLabel('Status in (comma list)').fill('500');
    await form.getByRole('button', { name: 'Test against recent logs' }).click();
    const result = form.locator('.test-result');
    await result.waitFor();
    expect(await result.locator('p').textContent()).toMatch(/^1 of the last \d+ requests would have matched/);
    expect(await result.locator('li').allTextContents()).toEqual(['POST /v1/fail → 500']);
    // Nested: all(status in 500, not(latency under 1 ms)).
    await form.getByLabel('Condition type 1', { exact: true }).selectOption('all');
    await form.getByRole('button', { name: 'Add condition' }).click();
    // Turning a leaf into `not` wraps it.
    await form.getByLabel('Condition type 1.2', { exact: true }).selectOption('not');
    await form.getByLabel('Condition type 1.2.1', { exact: true }).selectOption('latencyMs');
    await form.getByLabel('Faster than (ms)').fill('1');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await page.getByText('flag 500s', { exact: true }).waitFor();
    const stored = page.locator('.row-line', { hasText: 'flag 500s' }).locator('.cond-summary');
    expect(await stored.textContent()).toBe('status in 500 and not (latency < 1 ms)');
    expect(await stored.getAttribute('title')).toBe('{"all":[{"status":{"in":[500]}},{"not":{"latencyMs":{"lt":1}}}]}');
  });

  it('creates an access token, shows it once, and revokes it', async () => {
    await goTo('Tokens');
    await page.getByLabel('Token name').fill('ci-bot');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('.secret').textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    const res = await proxy('/v1/with/token', { authorization: `Bearer ${secret}` });
    expect(res.status).toBe(200);
    await page.getByRole('button', { name: 'Revoke ci-bot' }).click();
    await page.locator('.rows .badge', { hasText: 'REVOKED' }).waitFor();
  });

  it('renders every page at 1280 and 375 px with no console error or warning', async () => {
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 800 });
      for (const [name, file] of PAGES) {
        const listening = name === 'Overview' && width === 1280 ? subscribed(t.gateway.events, 'requestLog:created') : null;
        await goTo(name);
        if (listening) {
          // Some live traffic for the charts (redrawn each second) in the picture.
          await listening;
          await Promise.all(Array.from({ length: 8 }, (_, i) => proxy(`/v1/chat/completions?n=${i}`)));
          await page.waitForTimeout(1500);
        }
        await page.waitForLoadState('networkidle');
        expect(await page.locator('.error-box').allTextContents(), name).toEqual([]);
        await session.screenshot(`${file}-${width}`);
      }
    }
    // Each page has its own URL: reload and back keep the page.
    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tokens');
    await page.goBack();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Jobs');
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(session.problems).toEqual([]);
  });

  it('reaches every control of a page by keyboard, each with a visible focus', async () => {
    await goTo('Keys');
    await page.locator('body').focus();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const focus = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        return { id: `${el.tagName}:${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30) ?? ''}:${el.id}`, outline: style.outlineStyle, width: style.outlineWidth };
      });
      if (!focus) continue;
      expect(focus.outline, focus.id).not.toBe('none');
      expect(focus.width, focus.id).not.toBe('0px');
      seen.add(focus.id);
    }
    const controls = await page.locator('a[href], button:not([disabled]), input, select, textarea').count();
    // Every enabled control of the page took the focus at least once in 60 tabs.
    expect(seen.size).toBeGreaterThanOrEqual(controls);
  });

  it('signs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(session.problems).toEqual([]);
  });
});
