// The admin pages: each passes axe; the grant import and the review list work.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  SAMPLE_CSV,
  TEST_TIMEOUT_MS,
  adminSignInLink,
  confirmSignInLink,
  expectNoAxeViolations,
  latestMailTo,
  launchBrowser,
  newContext,
  startServer,
  submitForm,
} from '../harness.mjs';

let server;
let browser;
/** One signed-in admin session shared by the tests in this file. */
let context;
let page;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
    context = await newContext(browser);
    page = await context.newPage();
    // The admin the demo made; create-admin prints a fresh one-time sign-in link for it.
    await confirmSignInLink(page, await adminSignInLink(server));
  },
  { timeout: 90_000 },
);

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const ADMIN_PAGES = [
  ['/admin', 'Oversikt'],
  ['/admin/import', 'Importer tilskudd'],
  ['/admin/review', 'Til vurdering'],
  ['/admin/themes', 'Temaer og tiltakstyper'],
  ['/admin/users', 'Personer'],
  ['/admin/audit', 'Revisjonslogg'],
];

for (const [path, heading] of ADMIN_PAGES) {
  test(`${path} passes axe`, { timeout: TEST_TIMEOUT_MS }, async () => {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await expectNoAxeViolations(page);
  });
}

test('importing the sample again changes nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${server.url}/admin/import`);
  await page.getByLabel('CSV-fil').setInputFiles(SAMPLE_CSV);
  await submitForm(page, page.getByRole('button', { name: 'Importer', exact: true }), 200);

  await page.getByRole('heading', { level: 2, name: 'Importrapport' }).waitFor();
  const summary = (await page.getByRole('status').textContent()).trim();
  // The demo imported the same 30 rows at start.
  assert.equal(summary, '30 rader lest: 0 nye, 0 oppdatert, 30 uendret, 0 avvist.');
  await expectNoAxeViolations(page);
});

test('the review list has the grant whose theme is unclear', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${server.url}/admin/review`);
  await page.getByRole('heading', { level: 2, name: /^2022-0150: / }).waitFor();
});

test('an admin lands on the administration after signing in, and from /', { timeout: TEST_TIMEOUT_MS }, async () => {
  const own = await newContext(browser);
  try {
    const fresh = await own.newPage();
    await confirmSignInLink(fresh, await adminSignInLink(server));
    assert.equal(new URL(fresh.url()).pathname, '/admin');
    await fresh.goto(`${server.url}/`);
    await fresh.waitForURL(`${server.url}/admin`);
    await fresh.getByRole('heading', { level: 1, name: 'Oversikt' }).waitFor();
  } finally {
    await own.close();
  }
});

test('appointing a facilitator mails them a sign-in link and says so', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${server.url}/admin`);
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Sirkulærøkonomi' }) });
  await row.getByLabel('Navn').fill('Siri Sirkel');
  await row.getByLabel('E-post').fill('siri.sirkel@example.no');
  const since = Date.now();
  await submitForm(page, row.getByRole('button'), 303);
  const notice = page.getByRole('status');
  await notice.waitFor();
  assert.equal(
    (await notice.textContent()).trim(),
    'Siri Sirkel (siri.sirkel@example.no) er fasilitator for Sirkulærøkonomi. En e-post med innloggingslenke er sendt.',
  );
  await expectNoAxeViolations(page);
  const mail = await latestMailTo(server.outboxDir, 'siri.sirkel@example.no', { since });
  assert.equal(mail.subject, 'Du er fasilitator for Sirkulærøkonomi i Samling');
  assert.equal(mail.links.length, 1, mail.text);
  assert.ok(mail.links[0].startsWith(`${server.url}/sign-in/link?token=`), mail.links[0]);

  // The link signs Siri in, in a browser of her own.
  const own = await newContext(browser);
  try {
    const siri = await own.newPage();
    await confirmSignInLink(siri, mail.links[0]);
    // The appointment's link leads to the cohort she facilitates.
    assert.match(new URL(siri.url()).pathname, /^\/cohorts\/\d+$/);
    await siri.getByRole('heading', { level: 1, name: 'Sirkulærøkonomi' }).waitFor();
    await siri.getByRole('link', { name: 'Planlegg samlingene' }).waitFor();
  } finally {
    await own.close();
  }
});

test('adding a type of measure confirms it', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${server.url}/admin/themes`);
  const field = page.getByLabel('Ny type tiltak').first();
  await field.fill('Prøvetiltak for bekreftelse');
  await submitForm(page, page.getByRole('button', { name: 'Legg til', exact: true }).first(), 303);
  const notice = page.getByRole('status');
  await notice.waitFor();
  assert.equal((await notice.textContent()).trim(), 'Tiltakstypen er lagt til temaet.');
  await expectNoAxeViolations(page);
});
