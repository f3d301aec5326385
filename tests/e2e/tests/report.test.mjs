// The programme report as the admin opens it from the programme page: every chart sits in a
// figure with its table (the readable source of the chart, one row per bar group), axe finds no
// WCAG 2.1 AA violation, the downloads are there, and printed the page drops navigation, forms
// and downloads and shows each table whole. Screenshots at 390 and 1280 px and one as printed
// go to docs/screenshots/ (report-390.png, report-1280.png, report-print.png). A facilitator
// marks a need as taken up on the session page, and her cohort's report counts it.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { E2E_DIR, expectNoAxeViolations, launchBrowser, signedInPage, startServer } from '../harness.mjs';

const ADMIN = 'admin@example.no';
const SCREENSHOT_DIR = path.resolve(E2E_DIR, '../../docs/screenshots');

let server;
let browser;

before(async () => {
  server = await startServer({ demo: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** From /admin to the programme page, and from there by its link to the programme's report. */
async function openProgrammeReport(page) {
  await page.goto(`${server.url}/admin`);
  const programme = page.locator('main a[href^="/admin/programmes/"]').first();
  await programme.click();
  await page.getByRole('link', { name: 'Rapport for programmet' }).click();
  await page.waitForURL((url) => /^\/reports\/programmes\/\d+$/.test(url.pathname));
  await page.getByRole('heading', { level: 1, name: /^Rapport for programmet / }).waitFor();
}

test('the admin opens the programme report: every chart has its table, and axe is content', { timeout: 180_000 }, async (t) => {
  const page = await signedInPage(browser, server, t, ADMIN);
  await openProgrammeReport(page);

  const figures = page.locator('main figure.report-figure');
  const count = await figures.count();
  assert.ok(count >= 1, 'the demo report has at least one chart');
  for (let index = 0; index < count; index += 1) {
    const figure = figures.nth(index);
    const chart = figure.locator('svg[role="img"]');
    assert.equal(await chart.count(), 1, `figure ${index} has one chart`);
    const labelledBy = await chart.getAttribute('aria-labelledby');
    assert.ok(labelledBy && (await chart.locator(`title#${labelledBy}`).count()) === 1, `figure ${index}: the chart has a title`);
    const table = figure.locator('.table-scroll[role="region"] table');
    assert.equal(await table.count(), 1, `figure ${index} has its table`);
    assert.ok((await table.locator('caption').textContent()).trim().length > 0, `figure ${index}: the table has a caption`);
    // The figure is named by the heading above it, which is the table's title.
    const heading = await page.locator(`#${await figure.getAttribute('aria-labelledby')}`).textContent();
    assert.equal((await table.locator('caption').textContent()).trim(), heading.trim());
    // One bar label per table row: the chart shows the table, nothing more, nothing less.
    const rows = await table.locator('tbody tr').count();
    const labels = await chart.locator('text[font-weight="600"]').count();
    assert.equal(labels, rows, `figure ${index} (${heading}): ${labels} bar labels for ${rows} rows`);
  }

  // Every table has its CSV, the report its XLSX, with the same filters.
  const tables = await page.locator('main section.report-table').count();
  assert.equal(await page.locator('main a[href*="/csv/"]').count(), tables);
  const xlsx = await page.locator('main a[href$="/xlsx"]').getAttribute('href');
  const download = await page.request.get(`${server.url}${xlsx}`);
  assert.equal(download.status(), 200);
  assert.equal(download.headers()['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');

  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.reload();
    const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert.ok(scroll <= inner, `nothing scrolls sideways at ${width} px (${scroll} > ${inner})`);
    await expectNoAxeViolations(page);
  }
});

test('screenshots of the report at 390 and 1280 px and as printed', { timeout: 180_000 }, async (t) => {
  const page = await signedInPage(browser, server, t, ADMIN);
  await openProgrammeReport(page);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.reload();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `report-${width}.png`), fullPage: true });
  }

  // Printed: no navigation, forms or download links; tables whole, black on white.
  await page.setViewportSize({ width: 794, height: 1123 });
  await page.emulateMedia({ media: 'print' });
  for (const selector of ['header.site-header', 'form.report-filters', '.report-downloads', '.report-download', 'footer']) {
    const hidden = await page.locator(selector).first().evaluate((element) => getComputedStyle(element).display === 'none');
    assert.ok(hidden, `${selector} is not printed`);
  }
  const overflow = await page.locator('.table-scroll').first().evaluate((element) => getComputedStyle(element).overflowX);
  assert.equal(overflow, 'visible', 'a table prints whole, not in a scroll region');
  const colours = await page.locator('main h1').evaluate((element) => ({
    ink: getComputedStyle(element).color,
    paper: getComputedStyle(document.body).backgroundColor,
  }));
  assert.deepEqual(colours, { ink: 'rgb(0, 0, 0)', paper: 'rgb(255, 255, 255)' });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'report-print.png'), fullPage: true });
  await page.emulateMedia({ media: 'screen' });
});

test('the facilitator marks a need as taken up, and her cohort report counts it', { timeout: 180_000 }, async (t) => {
  // Aud Lie runs the land-use cohort, whose first two sessions the demo has held.
  const page = await signedInPage(browser, server, t, 'aud.lie@example.no');
  await page.goto(`${server.url}/cohorts`);
  await page.locator('main a[href^="/cohorts/"]').filter({ hasText: /arealplanlegging/i }).first().click();
  const cohortPath = new URL(page.url()).pathname;
  const cohortId = cohortPath.split('/')[2];
  const figures = async () => {
    const answer = await page.request.get(`${server.url}/api/v1/reports/cohorts/${cohortId}`);
    assert.equal(answer.status(), 200);
    const summary = (await answer.json()).tables.find((table) => table.key === 'summary');
    return Object.fromEntries(summary.rows.map(([key, value]) => [key, value]));
  };
  const before = await figures();

  // The first held session's page lists the needs with a control each; one is still open.
  await page.goto(`${server.url}${cohortPath}`);
  await page.locator('main a[href^="/sessions/"]').first().click();
  const open = page.locator('form[action$="/addressed"]').filter({ has: page.locator('option[selected][value=""]') }).first();
  assert.ok((await open.count()) === 1, 'a need not taken up yet');
  await expectNoAxeViolations(page);
  const select = open.locator('select');
  const label = await page.locator(`label[for="${await select.getAttribute('id')}"]`).textContent();
  await select.selectOption({ index: 1 });
  await open.getByRole('button').click();
  await page.waitForLoadState('load');
  await page.getByRole('status').first().waitFor();
  const marked = page.locator('form[action$="/addressed"]').filter({ has: page.locator(`label:text-is("${label.trim()}")`) });
  assert.notEqual(await marked.locator('select').inputValue(), '', 'the need is now taken up');

  const after = await figures();
  assert.equal(after.needs_addressed, before.needs_addressed + 1);
  assert.equal(after.needs_open, before.needs_open - 1);
  await page.goto(`${server.url}/reports/cohorts/${cohortId}`);
  await expectNoAxeViolations(page);
});
