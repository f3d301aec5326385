// An admin erases someone who asked by letter: «Slett person» in the list of people leads to a
// page that names the person, says what is deleted and what stays, and keeps their posts by
// default; afterwards the list and the thread show «Tidligere deltaker». Axe at a phone's and a
// laptop's width; screenshots of the confirmation page and of the list after go to
// docs/screenshots/ (admin-erasure-*.png, admin-users-erased-*.png).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { E2E_DIR, expectNoAxeViolations, launchBrowser, signedInPage, startServer, submitForm } from '../harness.mjs';

const ADMIN = 'admin@example.no';
const FACILITATOR = 'marte.fjeld@example.no';
// The demo's question in the food cohort, asked by one of its project leads.
const QUESTION = 'Hvordan måler dere matsvinnet i kantinene?';

const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
];
const SCREENSHOT_DIR = path.resolve(E2E_DIR, '../../docs/screenshots');

let server;
let browser;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
  },
  { timeout: 90_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** At each width: axe, then a full-page screenshot named `${name}-${width}.png`. */
async function checkAtEveryWidth(page, name) {
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await expectNoAxeViolations(page);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-${viewport.width}.png`), fullPage: true });
  }
}

test('an admin erases a person with their posts kept; the list and the thread show «Tidligere deltaker»', { timeout: 180_000 }, async (t) => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });

  // The facilitator opens the question's thread: who asked it?
  const reader = await signedInPage(browser, server, t, FACILITATOR);
  await reader.goto(`${server.url}/cohorts`);
  await reader.locator('main a[href^="/cohorts/"]').first().click();
  await reader.waitForURL((url) => /^\/cohorts\/\d+$/.test(url.pathname));
  await reader.goto(`${reader.url()}/threads`);
  await reader.getByRole('link', { name: QUESTION }).click();
  await reader.waitForURL((url) => /^\/threads\/\d+$/.test(url.pathname));
  const thread = reader.url();
  const asker = (await reader.locator('.post-author').first().textContent()).trim();
  assert.ok(asker && asker !== 'Tidligere deltaker', `the question's author: ${asker}`);

  const page = await signedInPage(browser, server, t, ADMIN);
  await page.goto(`${server.url}/admin/users`);
  await page.getByRole('heading', { level: 1, name: 'Personer' }).waitFor();
  const own = page.getByRole('row').filter({ hasText: ADMIN });
  assert.equal(await own.getByRole('link', { name: /Slett person/ }).count(), 0, 'not offered for the admin themself');
  await page
    .getByRole('row')
    .filter({ hasText: asker })
    .getByRole('link', { name: `Slett person: ${asker}` })
    .click();

  await page.getByRole('heading', { level: 1, name: `Slett ${asker}` }).waitFor();
  const said = await page.getByRole('main').textContent();
  assert.match(said, /Dette slettes/);
  assert.match(said, /Dette blir stående/);
  assert.ok(await page.getByLabel(/Behold innleggene/).isChecked(), 'keeping the posts is the default');
  await checkAtEveryWidth(page, 'admin-erasure');

  await submitForm(page, page.getByRole('button', { name: `Slett ${asker}` }), 303);
  await page.waitForURL((url) => url.pathname === '/admin/users');
  await page.getByRole('status').filter({ hasText: 'Personen er slettet' }).waitFor();
  assert.doesNotMatch(await page.getByRole('main').textContent(), new RegExp(asker));
  const erased = page.getByRole('row').filter({ hasText: 'Tidligere deltaker' });
  assert.equal(await erased.count(), 1, 'one erased row');
  assert.match(await erased.textContent(), /Slettet/);
  assert.equal(await erased.getByRole('link').count(), 0, 'no actions for an erased person');
  assert.equal(await erased.getByRole('button').count(), 0, 'no actions for an erased person');
  await checkAtEveryWidth(page, 'admin-users-erased');

  // The question stays, under «Tidligere deltaker».
  await reader.goto(thread);
  assert.equal((await reader.locator('.post-author').first().textContent()).trim(), 'Tidligere deltaker');
  assert.match(await reader.getByRole('main').textContent(), /Veier/);
  assert.doesNotMatch(await reader.getByRole('main').textContent(), new RegExp(asker));
});
