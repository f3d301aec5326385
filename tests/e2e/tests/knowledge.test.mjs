// Resources, project profiles, lessons learned and search in the browser: an expert uploads a
// file with a progress bar (and without JavaScript), a refused file shows the server's message,
// a project lead writes needs and sees who can help, and search finds inflected words with
// the matches marked. Every page passes axe.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  adminSignInLink,
  confirmSignInLink,
  expectNoAxeViolations,
  launchBrowser,
  newContext,
  signedInPage,
  startServer,
  submitForm,
} from '../harness.mjs';

/** The demo's expert in "Mat og matsvinn", and Skien's project lead there. */
const EXPERT = 'eli.ekspert@example.no';
const SKIEN_LEAD = 'per.olsen@example.skien.kommune.no';

let server;
let browser;
let cohortId;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await confirmSignInLink(page, await adminSignInLink(server));
      const response = await page.request.get(`${server.url}/api/v1/cohorts`);
      cohortId = (await response.json()).find((cohort) => cohort.theme.slug === 'mat-og-matsvinn')?.id;
      assert.ok(cohortId, 'the demo has the cohort "Mat og matsvinn"');
    } finally {
      await context.close();
    }
  },
  { timeout: 90_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page signed in as `email`, closed after test `t`. */
function signedIn(t, email, options = {}) {
  return signedInPage(browser, server, t, email, options);
}

/** A valid PDF of about `size` bytes, so the upload takes a moment. */
function pdf(size) {
  const head = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n');
  const tail = Buffer.from('\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length - tail.length), 0x20), tail]);
}

const resourcesUrl = () => `${server.url}/cohorts/${cohortId}/resources`;

test('an expert uploads a file with a progress bar and a refused file shows why', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, EXPERT);
  await page.goto(`${server.url}/cohorts/${cohortId}`);
  await page.getByRole('link', { name: 'Ressurser', exact: true }).click();
  await page.waitForURL(resourcesUrl());
  await page.getByRole('heading', { level: 1, name: 'Ressurser: Mat og matsvinn' }).waitFor();
  // The demo's link and PDF are in the library.
  const library = page.getByRole('region', { name: 'Biblioteket' });
  await library.getByRole('link', { name: 'Veileder: slik måler dere matsvinn' }).waitFor();
  await library.getByRole('link', { name: 'Last ned veieskjema.pdf' }).waitFor();
  await expectNoAxeViolations(page);

  const form = page.getByRole('region', { name: 'Del en lenke eller fil' });
  await form.getByLabel('Tittel').fill('Rapport fra kantinene');
  await form.getByLabel('Kort beskrivelse').fill('Resultater etter et år med veiing.');
  await form.getByLabel('Eller en fil').setInputFiles({ name: 'rapport.pdf', mimeType: 'application/pdf', buffer: pdf(3_000_000) });
  const sent = page.waitForRequest((request) => request.method() === 'POST' && request.resourceType() === 'xhr');
  await form.getByRole('button', { name: 'Del' }).click();
  await sent;
  await page.waitForURL(/\/resources\?posted=\d+#resource-\d+$/);
  assert.ok(!page.url().includes('csrf'), `no token in the address: ${page.url()}`);
  await page.getByRole('status').filter({ hasText: 'Ressursen er delt.' }).waitFor();
  const item = library.getByRole('listitem').filter({ hasText: 'Rapport fra kantinene' });
  await item.getByRole('link', { name: 'Last ned rapport.pdf' }).waitFor();
  await item.getByText('3,0\u00a0MB').waitFor();

  // An HTML file named .pdf: the server's message shows above the form, nothing is added.
  await form.getByLabel('Tittel').fill('Lurefil');
  await form.getByLabel('Eller en fil').setInputFiles({ name: 'lure.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html><script>alert(1)</script></html>') });
  await form.getByRole('button', { name: 'Del' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /filtypen|tillatt/i);
  assert.equal(await library.getByText('Lurefil').count(), 0);
  assert.ok(!page.url().includes('csrf'), `no token in the address: ${page.url()}`);
  await expectNoAxeViolations(page);

  // The theme's library, across the theme's cohorts: the same resources, no upload form.
  await page.goto(`${server.url}/cohorts/${cohortId}`);
  await page.getByRole('link', { name: 'Alle ressurser i temaet' }).click();
  await page.getByRole('heading', { level: 1, name: 'Ressurser i temaet Mat og matsvinn' }).waitFor();
  await page.getByRole('link', { name: 'Last ned rapport.pdf' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Del en lenke eller fil' }).count(), 0);
  await expectNoAxeViolations(page);
});

test('without JavaScript the upload form posts as an ordinary form', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, EXPERT, { javaScriptEnabled: false });
  await page.goto(resourcesUrl());
  const form = page.getByRole('region', { name: 'Del en lenke eller fil' });
  await form.getByLabel('Tittel').fill('Matvett for kommuner');
  await form.getByLabel('Lenke (http eller https)').fill('https://example.no/matvett');
  await submitForm(page, form.getByRole('button', { name: 'Del' }), 303);
  await page.waitForURL(/\/resources\?posted=\d+#resource-\d+$/);
  await page.getByRole('link', { name: 'Matvett for kommuner' }).waitFor();
  assert.ok(!page.url().includes('csrf'), `no token in the address: ${page.url()}`);

  // A refused file: the page with the server's message stands at the form's address, which
  // carries no token (the token is the form's first field).
  await form.getByLabel('Tittel').fill('Lurefil');
  await form.getByLabel('Eller en fil').setInputFiles({ name: 'lure.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html></html>') });
  await submitForm(page, form.getByRole('button', { name: 'Del' }), 422);
  await page.getByRole('alert').waitFor();
  assert.equal(new URL(page.url()).pathname, `/cohorts/${cohortId}/resources`);
  assert.ok(!page.url().includes('csrf'), `no token in the address: ${page.url()}`);
});

test('a project lead writes needs and sees who can help', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, SKIEN_LEAD);
  await page.goto(`${server.url}/cohorts/${cohortId}`);
  await page.getByRole('link', { name: 'Måling av matsvinn i helse og omsorg' }).click();
  await page.getByRole('heading', { level: 1, name: 'Måling av matsvinn i helse og omsorg' }).waitFor();
  const suggestions = page.getByRole('region', { name: 'Forslag: hvem kan hjelpe' });
  const matches = suggestions.getByRole('list').first();
  await matches.getByRole('link', { name: /^Trondheim kommune:/ }).waitFor();
  assert.match(await suggestions.innerText(), /har gjennomført et lignende prosjekt/);
  await expectNoAxeViolations(page);

  const needs = page.getByRole('region', { name: 'Behov og tilbud' });
  await needs.getByLabel('Dette trenger vi hjelp med').fill('Hvordan får vi med oss skolene på måling av matsvinn?');
  await submitForm(page, needs.getByRole('button', { name: 'Lagre behov og tilbud' }), 303);
  await page.getByRole('status').filter({ hasText: 'Lagret.' }).waitFor();
  assert.equal(await needs.getByLabel('Dette trenger vi hjelp med').inputValue(), 'Hvordan får vi med oss skolene på måling av matsvinn?');
  // Bergen's school project now shares words with the need.
  await matches.getByRole('link', { name: /^Bergen kommune: Klimavennlig skolemat/ }).waitFor();
});

test('search finds inflected words, marks them, filters by kind, and reads lessons', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, SKIEN_LEAD);
  await page.goto(server.url + '/cohorts');
  await page.getByRole('link', { name: 'Søk', exact: true }).click();
  const form = page.getByRole('search', { name: 'Søk' });
  await form.getByLabel('Søk etter').fill('matsvinnet');
  await form.getByRole('button', { name: 'Søk' }).click();
  await page.waitForURL(/\/search\?q=matsvinnet/);
  const hits = page.getByRole('region', { name: /^Treff: \d+/ });
  await hits.locator('mark', { hasText: /^matsvinn/i }).first().waitFor();
  await expectNoAxeViolations(page);

  await form.getByLabel('Type').selectOption({ label: 'Erfaring' });
  await form.getByRole('button', { name: 'Søk' }).click();
  await page.waitForURL(/kind=lesson/);
  const lesson = page.getByRole('region', { name: 'Treff: 1' });
  await lesson.getByRole('link', { name: /Matsvinnreduksjon/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Erfaringer fra prosjektene' }).waitFor();
  await page.getByText('Start med ett kjøkken').waitFor();
  await expectNoAxeViolations(page);

  // Nothing to search for: a clear message, not an empty list.
  await page.goto(`${server.url}/search?q=%21%21`);
  assert.match(await page.getByRole('alert').innerText(), /minst ett ord/);
});
