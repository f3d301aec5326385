// A project lead deletes their account from Settings, through the link mailed to them, and is
// signed out; axe finds no violation on the pages of the way.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  E2E_DIR,
  TEST_TIMEOUT_MS,
  expectNoAxeViolations,
  latestMailTo,
  launchBrowser,
  signedInPage,
  startServer,
  submitForm,
} from '../harness.mjs';

const SCREENSHOT_DIR = path.resolve(E2E_DIR, '../../docs/screenshots');

// A project lead of the demo's food cohort whom no other browser test signs in as.
const PROJECT_LEAD = 'per.olsen@example.skien.kommune.no';

let server;
let browser;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  },
  { timeout: 90_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a project lead deletes their account through the mailed link and is signed out', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, PROJECT_LEAD);
  // The project lead starts a thread in the food cohort; its facilitator reads it live, in
  // Nynorsk, and sees the erasure without reloading.
  const cohorts = await page.request.get(`${server.url}/api/v1/cohorts`);
  assert.equal(cohorts.status(), 200, await cohorts.text());
  const cohortId = (await cohorts.json()).find((cohort) => cohort.theme.slug === 'mat-og-matsvinn')?.id;
  assert.ok(cohortId, 'the demo has the cohort "Mat og matsvinn"');
  await page.goto(`${server.url}/cohorts/${cohortId}/threads`);
  const start = page.getByRole('region', { name: 'Start en ny tråd' });
  await start.getByLabel('Tittel').fill('Hilsen fra Skien');
  await start.getByLabel('Innlegg', { exact: true }).fill('Vi måler matsvinnet på sykehjemmene.');
  await submitForm(page, start.getByRole('button', { name: 'Start tråden' }), 303);
  await page.waitForURL(/\/threads\/\d+$/);
  const threadUrl = page.url();
  const reader = await signedInPage(browser, server, t, 'marte.fjeld@example.no');
  await reader.goto(`${server.url}/settings`);
  await reader.locator('#settings-language').selectOption('nn');
  await reader.locator('#settings-language').locator('xpath=ancestor::form').getByRole('button').click();
  await reader.waitForFunction(() => document.documentElement.lang === 'nn');
  await reader.goto(threadUrl);
  await reader.locator('#live-status[data-state="connected"]').waitFor();
  await reader.evaluate(() => {
    window.samlingMarker = 'not reloaded';
  });
  const firstPost = reader.locator('#posts li.post').first();
  assert.equal(await firstPost.locator('.post-author').textContent(), 'Per Olsen');

  await page.goto(`${server.url}/settings`);
  await page.getByRole('heading', { level: 2, name: 'Slett kontoen min' }).waitFor();
  assert.ok(await page.getByLabel(/Behold innleggene/).isChecked(), 'keeping the posts is the default');
  await expectNoAxeViolations(page);

  const since = Date.now();
  await submitForm(page, page.getByRole('button', { name: 'Send meg en lenke for å slette kontoen' }), 200);
  await page.getByRole('status').filter({ hasText: '24 timer' }).waitFor();
  await expectNoAxeViolations(page);

  // The sign-in mail may be the newest for a moment: wait for the confirmation.
  const subject = 'Bekreft at kontoen din i Samling skal slettes';
  let mail = await latestMailTo(server.outboxDir, PROJECT_LEAD, { since });
  for (let tries = 0; mail.subject !== subject && tries < 50; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    mail = await latestMailTo(server.outboxDir, PROJECT_LEAD, { since });
  }
  assert.equal(mail.subject, subject);
  const link = mail.links.find((candidate) => candidate.startsWith(`${server.url}/account/erasure?token=`));
  assert.ok(link, `no confirmation link in:\n${mail.text}`);

  await page.goto(link);
  await page.getByRole('heading', { level: 1, name: 'Slett kontoen din' }).waitFor();
  assert.match(await page.getByRole('main').textContent(), /Tidligere deltaker/);
  await expectNoAxeViolations(page);
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `erasure-confirm-${width}.png`), fullPage: true });
  }
  await submitForm(page, page.getByRole('button', { name: 'Slett kontoen min' }), 303);
  await page.waitForURL((url) => url.pathname === '/account/erased');
  await page.getByRole('heading', { level: 1, name: 'Kontoen din er slettet' }).waitFor();
  await expectNoAxeViolations(page);

  // The reader's open thread shows the post under «Tidlegare deltakar», in her language.
  await firstPost.locator('.post-author', { hasText: 'Tidlegare deltakar' }).waitFor();
  assert.equal(await reader.evaluate(() => window.samlingMarker), 'not reloaded');
  assert.match(await firstPost.locator('.post-body').textContent(), /sykehjemmene/);

  // Signed out: Settings leads to the sign-in page, and the link does not work again.
  await page.goto(`${server.url}/settings`);
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  await page.getByRole('heading', { level: 1, name: 'Lenken virker ikke lenger' }).waitFor();
  await expectNoAxeViolations(page);
});
