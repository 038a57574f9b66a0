// The live-tail page in a real browser: Debian's Chromium, headless, driven by playwright-core.
// A record sent to the tcp input must appear on the page; the field filter and pause work.
// Without /usr/bin/chromium the test is skipped with a message, except in CI (CI=true), where
// .ci/run installs Chromium and a missing browser is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startFeedRelay, type FeedRelay } from './support/feed.js';
import { sendLines } from './support/relay.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const skip =
  haveChromium || process.env['CI'] === 'true'
    ? false
    : `${CHROMIUM} not found: install it (apt-get install chromium) to run the browser test`;

async function withPage(
  output: Record<string, string>,
  body: (page: Page, relay: FeedRelay) => Promise<void>,
): Promise<void> {
  const relay = await startFeedRelay(output);
  const profile = mkdtempSync(join(tmpdir(), 'wsr-chromium-'));
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await body(page, relay);
    assert.deepEqual(errors, [], 'no script errors, no CSP violations');
  } finally {
    await context?.close();
    await relay.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}

test(
  'a record sent to the tcp input appears on the live-tail page (tag, time, pretty JSON)',
  { skip, timeout: 60_000 },
  async () => {
    await withPage({ add_time: 'on', token: 'page-token' }, async (page, relay) => {
      await page.goto(`http://127.0.0.1:${relay.output.port}/?token=page-token`);
      await page.waitForSelector('body[data-status="connected"]', { timeout: 10_000 });
      await sendLines(relay.port, ['{"marker":"hello-from-tcp","user":6}']);
      const row = page.locator('.rec', { hasText: 'hello-from-tcp' });
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('.tag').textContent(), 'foo.bar');
      assert.match((await row.locator('.time').textContent()) ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const pretty = (await row.locator('pre').textContent()) ?? '';
      assert.deepEqual(JSON.parse(pretty), { marker: 'hello-from-tcp', user: 6 });
      assert.match(pretty, /\n {2}"marker"/, 'pretty-printed');
      // Locators, not waitForFunction: the page's CSP forbids evaluating strings (as it should).
      await page.locator('#rate', { hasText: /^\d+ rec\/s$/ }).waitFor({ timeout: 5000 });
    });
  },
);

test('the page filters by field (server-side, numbers as numbers) and pauses', { skip, timeout: 60_000 }, async () => {
  await withPage({ use_msgpack: 'on', buffered_messages: '100' }, async (page, relay) => {
    await page.goto(`http://127.0.0.1:${relay.output.port}/`);
    await page.waitForSelector('body[data-status="connected"]', { timeout: 10_000 });
    await page.fill('#filter', 'user=7');
    await page.click('#apply');
    await page.waitForSelector('body[data-status="connected"]', { timeout: 10_000 });
    await sendLines(relay.port, ['{"who":"six","user":6}', '{"who":"seven","user":7}']);
    await page.locator('.rec', { hasText: 'seven' }).waitFor({ timeout: 10_000 });
    // "six" was sent before "seven" on the same connection, and the page renders in order:
    // had it passed the filter, it would be on the page by now.
    assert.equal(await page.locator('.rec', { hasText: '"six"' }).count(), 0, 'filtered out');

    await page.click('#pause');
    await sendLines(relay.port, ['{"who":"later","user":7}']);
    await page.locator('#held', { hasText: '1 new while paused' }).waitFor({ timeout: 5000 });
    assert.equal(await page.locator('.rec', { hasText: 'later' }).count(), 0, 'not shown while paused');
    await page.click('#pause');
    await page.locator('.rec', { hasText: 'later' }).waitFor({ timeout: 10_000 });
  });
});
