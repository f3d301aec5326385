// Sessions: registering, the calendar file, the needs intake, the facilitator's planning page
// and the secret calendar feed.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  adminSignInLink,
  confirmSignInLink,
  expectNoAxeViolations,
  freshPage,
  launchBrowser,
  newContext,
  signInByMail,
  startServer,
  submitForm,
} from '../harness.mjs';

/** A demo project lead (grant contact) of "Mat og matsvinn", registered for session 1 only. */
const PROJECT_LEAD = 'ingrid.berg@example.drammen.kommune.no';
const FACILITATOR = 'marte.fjeld@example.no';

let server;
let browser;
/** Cohort ids by theme slug, e.g. `mat-og-matsvinn`. */
let cohortIds;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
    // The admin sees every cohort in the API; that gives the cohort ids.
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await confirmSignInLink(page, await adminSignInLink(server));
      const response = await page.request.get(`${server.url}/api/v1/cohorts`);
      assert.equal(response.status(), 200, await response.text());
      cohortIds = Object.fromEntries((await response.json()).map((cohort) => [cohort.theme.slug, cohort.id]));
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

const foodWasteUrl = () => `${server.url}/cohorts/${cohortIds['mat-og-matsvinn']}`;

/** Opens the "Mat og matsvinn" cohort page. */
async function openFoodWasteCohort(page) {
  assert.ok(cohortIds['mat-og-matsvinn'], `cohorts: ${JSON.stringify(cohortIds)}`);
  await page.goto(foodWasteUrl());
  await page.getByRole('heading', { level: 1, name: 'Mat og matsvinn' }).waitFor();
}

/** The cohort page's timeline (the ordered list in the "Samlinger" section). */
function timeline(page) {
  return page.getByRole('region', { name: 'Samlinger' }).locator('ol.timeline');
}

/**
 * From the cohort page, follows the timeline's link "Samling N: <title>" and returns the
 * session's id (from the URL).
 */
async function followSessionLink(page, number) {
  const link = timeline(page).getByRole('link', { name: new RegExp(`^Samling ${number}: `) });
  const name = (await link.textContent()).trim();
  await link.click();
  await page.waitForURL(/\/sessions\/\d+$/);
  const title = name.replace(/^Samling \d+: /, '');
  await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
  return new URL(page.url()).pathname.split('/').pop();
}

/** The success notice (role="status") and its text. */
async function noticeText(page) {
  const notice = page.getByRole('status');
  await notice.waitFor();
  return (await notice.textContent()).trim();
}

test('a member registers for a session and downloads its calendar file', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, PROJECT_LEAD);
  await openFoodWasteCohort(page);
  const items = timeline(page).getByRole('listitem');
  assert.equal(await items.count(), 4, 'the demo cohort has four sessions');
  await items.first().getByText('Neste', { exact: true }).waitFor();
  await expectNoAxeViolations(page);

  const sessionId = await followSessionLink(page, 2);
  const registration = page.getByRole('region', { name: 'Påmelding' });
  await registration.waitFor();
  await expectNoAxeViolations(page);

  await submitForm(page, registration.getByRole('button', { name: 'Meld meg på', exact: true }), 303);
  assert.equal(await noticeText(page), 'Påmeldingen er registrert.');
  await registration.getByText('Du er påmeldt.', { exact: true }).waitFor();
  await expectNoAxeViolations(page);

  const calendarLink = registration.getByRole('link', { name: 'Last ned i kalenderen (.ics)' });
  assert.equal(await calendarLink.getAttribute('href'), `/sessions/${sessionId}/calendar.ics`);
  const [download] = await Promise.all([page.waitForEvent('download'), calendarLink.click()]);
  const file = await download.path();
  assert.ok(file, `the download failed: ${await download.failure()}`);
  // Long iCalendar lines are folded (CRLF and a space); unfold before looking for a line.
  const ics = (await readFile(file, 'utf8')).replace(/\r?\n[ \t]/g, '');
  assert.ok(ics.startsWith('BEGIN:VCALENDAR'), `not an iCalendar file:\n${ics.slice(0, 300)}`);
  assert.ok(ics.includes('TZID:Europe/Oslo'), `no Europe/Oslo time zone:\n${ics}`);
  assert.ok(ics.includes(`UID:session-${sessionId}@`), `no UID for session ${sessionId}:\n${ics}`);

  await submitForm(page, registration.getByRole('button', { name: 'Meld meg av', exact: true }), 303);
  assert.equal(await noticeText(page), 'Du er meldt av.');
  await registration.getByRole('button', { name: 'Meld meg på', exact: true }).waitFor();
  assert.equal(await registration.getByText('Du er påmeldt.', { exact: true }).count(), 0);
});

test('a member answers the needs intake', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, PROJECT_LEAD);
  await openFoodWasteCohort(page);
  await followSessionLink(page, 2);

  const prepare = page.getByRole('region', { name: 'Forbered deg' });
  const needs = 'Hvordan måler vi matsvinnet på sykehjemmene?';
  const offers = 'Vi deler innkjøpsavtalen med kantineleverandøren.';
  await prepare.getByLabel('Hva trenger du hjelp til?').fill(needs);
  await prepare.getByLabel('Hva kan du dele?').fill(offers);
  await submitForm(page, prepare.getByRole('button', { name: 'Lagre svarene' }), 303);
  assert.equal(await noticeText(page), 'Svarene dine er lagret.');

  await page.reload();
  await prepare.waitFor();
  assert.equal(await prepare.getByLabel('Hva trenger du hjelp til?').inputValue(), needs);
  assert.equal(await prepare.getByLabel('Hva kan du dele?').inputValue(), offers);
  await expectNoAxeViolations(page);
});

test('the facilitator plans the sessions on the planning page', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await openFoodWasteCohort(page);

  await page.getByRole('region', { name: 'Samlinger' }).getByRole('link', { name: 'Planlegg samlingene' }).click();
  await page.waitForURL(`${foodWasteUrl()}/planning`);
  await page.getByRole('heading', { level: 1, name: 'Planlegg samlingene: Mat og matsvinn' }).waitFor();
  await expectNoAxeViolations(page);

  assert.ok(await page.getByLabel('Fra', { exact: true }).inputValue(), 'the period has a default start');
  assert.ok(await page.getByLabel('Til', { exact: true }).inputValue(), 'the period has a default end');
  await submitForm(page, page.getByRole('button', { name: 'Foreslå datoer' }), 200);
  const proposal = page.getByRole('region', { name: 'Forslag' });
  await proposal.waitFor();
  // Counted as fieldsets: the <details> with the skipped dates has the role "group" too.
  const fieldsets = proposal.locator('fieldset');
  assert.equal(await fieldsets.count(), 4, 'four proposed sessions');
  const legends = (await proposal.locator('fieldset > legend').allTextContents()).map((text) => text.trim());
  legends.forEach((legend, index) => assert.match(legend, new RegExp(`^Samling ${index + 1}: `)));
  await expectNoAxeViolations(page);

  await submitForm(page, proposal.getByRole('button', { name: 'Lagre planen' }), 303);
  await page.waitForURL((url) => `${url.origin}${url.pathname}` === foodWasteUrl());
  assert.equal(await noticeText(page), 'Samlingene er planlagt.');
  assert.equal(await timeline(page).getByRole('listitem').count(), 4);
  await expectNoAxeViolations(page);

  // The facilitator's session page, with the edit forms.
  await followSessionLink(page, 1);
  const manage = page.getByRole('region', { name: 'Fasilitator' });
  await manage.getByRole('button', { name: 'Lagre samlingen' }).waitFor();
  await expectNoAxeViolations(page);
});

test('the calendar feed page makes a secret URL that a calendar app can read without signing in', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, PROJECT_LEAD);
  await page.getByRole('navigation').getByRole('link', { name: 'Kalender', exact: true }).click();
  await page.waitForURL(`${server.url}/calendar`);
  await page.getByRole('heading', { level: 1, name: 'Kalender' }).waitFor();
  await expectNoAxeViolations(page);

  await submitForm(page, page.getByRole('button', { name: 'Lag lenke til kalenderen' }), 200);
  const input = page.getByLabel('Lenke til kalenderen (iCalendar)');
  assert.equal(await input.getAttribute('readonly'), '');
  const feedUrl = await input.inputValue();
  assert.match(feedUrl, new RegExp(`^${server.url.replace(/\./g, '\\.')}/calendar/[^/]+\\.ics$`));
  await expectNoAxeViolations(page);

  // A calendar app: node's fetch, no cookies.
  const response = await fetch(feedUrl);
  const body = await response.text();
  assert.equal(response.status, 200, body);
  assert.match(response.headers.get('content-type') ?? '', /^text\/calendar/);
  assert.ok(body.includes('BEGIN:VCALENDAR'), body);
  assert.ok(body.includes('BEGIN:VEVENT'), `the feed has no sessions:\n${body}`);
});

test('the facilitator sees who comes, with no participant buttons, and e-mails a group in one click', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await openFoodWasteCohort(page);
  await followSessionLink(page, 1);

  const roster = page.getByRole('region', { name: 'Hvem kommer' });
  await roster.waitFor();
  // The demo registers the project leads for session 1.
  const registered = roster.getByRole('list', { name: /^Påmeldt \(\d+\)$/ });
  assert.ok((await registered.getByRole('listitem').count()) > 0, 'the registered are listed');
  await roster.getByRole('heading', { name: /^Venteliste \(\d+\)$/ }).waitFor();
  await roster.getByRole('heading', { name: /^Har svart på behovsinnspillet \(\d+\)$/ }).waitFor();
  await roster.getByRole('heading', { name: /^Påmeldt, men ikke svart på behovsinnspillet \(\d+\)$/ }).waitFor();

  // The facilitator runs the session and takes no part in it.
  assert.equal(await page.getByRole('button', { name: 'Meld meg på' }).count(), 0);
  assert.equal(await page.getByRole('region', { name: 'Forbered deg' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Send svar' }).count(), 0);
  await expectNoAxeViolations(page);

  const remind = roster.getByRole('button', { name: /^Minn om behovsinnspillet \(\d+\)$/ });
  const count = Number((await remind.textContent()).match(/\((\d+)\)/)[1]);
  assert.ok(count > 0, 'some registered have not answered');
  await submitForm(page, remind, 303);
  assert.equal(await noticeText(page), `E-posten er sendt til ${count} personer.`);
  await expectNoAxeViolations(page);
});

test('the e-mail schedule shows at most three session periods open', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await page.goto(`${foodWasteUrl()}/digests`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  const groups = page.locator('details.digest-group');
  assert.ok((await groups.count()) >= 4, 'a group per session period');
  const open = await page.locator('details.digest-group[open]').count();
  assert.ok(open >= 1 && open <= 3, `${open} groups open`);
  await page.getByRole('heading', { level: 2, name: 'Før samling 1' }).waitFor();
  await expectNoAxeViolations(page);
  // A folded group opens and keeps its forms.
  const last = groups.last();
  await last.locator('summary').click();
  assert.ok((await last.getByRole('button', { name: 'Forhåndsvis' }).count()) > 0);
});
