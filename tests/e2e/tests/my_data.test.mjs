// «Mine data»: a project lead asks for the copy of their data in Settings, opens the link the
// mail brings (from the outbox folder), downloads the ZIP once, and sees a clear page when the
// link is used again. axe finds no WCAG 2.1 AA violation on any of the pages.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  expectNoAxeViolations,
  latestMailTo,
  launchBrowser,
  signedInPage,
  startServer,
  submitForm,
} from '../harness.mjs';

const PROJECT_LEAD = 'ingrid.berg@example.drammen.kommune.no';

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

test('a project lead asks for their data in Settings and downloads the mailed ZIP once', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, PROJECT_LEAD);
  await page.goto(`${server.url}/settings`);
  await page.getByRole('heading', { level: 2, name: 'Mine data', exact: true }).waitFor();
  await expectNoAxeViolations(page);

  const since = Date.now();
  await submitForm(page, page.getByRole('button', { name: 'Be om en kopi av dataene mine', exact: true }), 303);
  assert.equal(new URL(page.url()).pathname, '/settings/my-data');
  await page.getByRole('heading', { level: 1, name: 'Mine data', exact: true }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Vi lager kopien nå' }).waitFor();
  await expectNoAxeViolations(page);

  const mail = await latestMailTo(server.outboxDir, PROJECT_LEAD, { since, timeoutMs: 15_000 });
  assert.equal(mail.subject, 'Dataene dine fra Samling er klare');
  const link = mail.links.find((candidate) => new URL(candidate).pathname === '/mine-data');
  assert.ok(link, `a download link in the mail:\n${mail.text}`);

  await page.goto(link);
  await page.getByRole('heading', { level: 1, name: 'Mine data', exact: true }).waitFor();
  await expectNoAxeViolations(page);
  const downloaded = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Last ned dataene mine (ZIP)', exact: true }).click();
  const download = await downloaded;
  assert.match(download.suggestedFilename(), /^samling-mine-data-\d{4}-\d{2}-\d{2}\.zip$/);
  const saved = path.join(server.dir, download.suggestedFilename());
  await download.saveAs(saved);
  const zip = await readFile(saved);
  assert.equal(zip.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a ZIP file');
  // The entries' names stand uncompressed in the ZIP's directory.
  for (const name of ['data.json', 'index.html']) {
    assert.ok(zip.includes(Buffer.from(name)), `the ZIP holds ${name}`);
  }

  // The link works once: opened again, it says so clearly.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  await page.getByRole('alert').filter({ hasText: 'allerede brukt' }).waitFor();
  await expectNoAxeViolations(page);
});
