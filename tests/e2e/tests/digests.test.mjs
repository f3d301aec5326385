// E-mail digests in the browser: the facilitator's schedule (intro, preview, send now), a
// member's e-mail settings, and the unsubscribe page a digest links to. axe checks each page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  expectNoAxeViolations,
  freshPage,
  latestMailTo,
  launchBrowser,
  runCli,
  signInByMail,
  startServer,
  submitForm,
} from '../harness.mjs';

const FACILITATOR = 'marte.fjeld@example.no';
const EXPERT = 'eli.ekspert@example.no';

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

async function openSchedule(page) {
  await page.goto(`${server.url}/cohorts`);
  await page.getByRole('link', { name: 'Mat og matsvinn' }).click();
  await page.getByRole('link', { name: 'E-postutsendinger' }).click();
  await page.getByRole('heading', { level: 1, name: 'E-postutsendinger for Mat og matsvinn' }).waitFor();
}

/** The schedule's first scheduled activity digest. */
function firstActivity(page) {
  return page
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: /^Aktivitet:/ }) })
    .filter({ has: page.getByRole('button', { name: 'Send nå' }) })
    .first();
}

test('the facilitator writes an intro, previews a digest as a member and sends it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await openSchedule(page);
  await expectNoAxeViolations(page);

  const digest = firstActivity(page);
  await digest.getByLabel('Innledning').fill('Mye nytt i trådene denne uka.');
  await submitForm(page, digest.getByRole('button', { name: 'Lagre' }), 303);
  await page.getByRole('status').filter({ hasText: 'Utsendingen er lagret.' }).waitFor();

  await firstActivity(page).getByLabel('Forhåndsvis for').selectOption({ label: 'Eli Ekspert' });
  await firstActivity(page).getByRole('button', { name: 'Forhåndsvis' }).click();
  await page.getByRole('heading', { level: 1, name: 'Forhåndsvisning for Eli Ekspert' }).waitFor();
  assert.match(await page.locator('pre').textContent(), /Mye nytt i trådene denne uka\./);
  await expectNoAxeViolations(page);

  await openSchedule(page);
  const since = Date.now();
  await submitForm(page, firstActivity(page).getByRole('button', { name: 'Send nå' }), 303);
  await page.getByRole('status').filter({ hasText: 'Utsendingen er i gang.' }).waitFor();
  const mail = await latestMailTo(server.outboxDir, EXPERT, { since, timeoutMs: 15_000 });
  assert.match(mail.subject, /^Nytt i Mat og matsvinn/);
  assert.match(mail.text, /Mye nytt i trådene denne uka\./);
});

test('a member chooses recaps and reminders only in the settings', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, EXPERT);
  await page.getByRole('link', { name: 'Innstillinger' }).click();
  await page.getByRole('heading', { level: 1, name: 'Innstillinger' }).waitFor();
  await expectNoAxeViolations(page);
  await page.getByRole('radio', { name: 'Bare oppsummeringer og påminnelser' }).check();
  await submitForm(page, page.getByRole('button', { name: 'Lagre' }), 303);
  await page.getByRole('status').filter({ hasText: 'Innstillingene er lagret.' }).waitFor();
  assert.ok(await page.getByRole('radio', { name: 'Bare oppsummeringer og påminnelser' }).isChecked());
});

test('the unsubscribe link in a digest works without signing in', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const facilitator = await freshPage(browser, t);
  await signInByMail(facilitator, server, FACILITATOR);
  await openSchedule(facilitator);
  const since = Date.now();
  // A reminder, sent now: the facilitator gets one too.
  const reminder = facilitator
    .getByRole('listitem')
    .filter({ has: facilitator.getByRole('heading', { level: 3, name: /^Påminnelse:/ }) })
    .filter({ has: facilitator.getByRole('button', { name: 'Send nå' }) })
    .first();
  await submitForm(facilitator, reminder.getByRole('button', { name: 'Send nå' }), 303);
  const mail = await latestMailTo(server.outboxDir, FACILITATOR, { since, timeoutMs: 15_000 });
  assert.match(mail.subject, /^Påminnelse:/);
  const link = mail.links.find((candidate) => candidate.includes('/unsubscribe?token='));
  assert.ok(link, `an unsubscribe link in: ${mail.text}`);

  const page = await freshPage(browser, t);
  await page.goto(link);
  await page.getByRole('heading', { level: 1, name: 'Meld deg av e-post' }).waitFor();
  await expectNoAxeViolations(page);
  await submitForm(page, page.getByRole('button', { name: 'Meld meg av' }), 200);
  await page.getByRole('status').filter({ hasText: 'Du er meldt av.' }).waitFor();
  await expectNoAxeViolations(page);
});

test('the command line previews what a person would get and runs what is due', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The expert wants recaps and reminders (the settings test); the facilitator unsubscribed.
  const preview = await runCli(['digests', 'preview', '--user', EXPERT, '--kind', 'reminder'], server);
  assert.match(preview, /=== temagruppe \d+, Påminnelse, sendes \p{L}+ \d{1,2}\. \p{L}+ \d{4} kl\. \d{2}:\d{2}/u);
  assert.match(preview, /Emne: Påminnelse: /);
  assert.match(preview, /Hei Eli Ekspert,/);
  const unsubscribed = await runCli(['digests', 'preview', '--user', FACILITATOR, '--kind', 'reminder'], server);
  assert.match(unsubscribed, /\(ingenting til denne personen nå\)/);
  await assert.rejects(runCli(['digests', 'preview', '--user', FACILITATOR, '--kind', 'weekly'], server), /ukjent slag/);

  const run = await runCli(['digests', 'run'], server);
  assert.match(run, /^Utsendinger avgjort: \d+, e-poster lagt i kø: \d+, sendt: \d+, mislyktes: 0$/m);
});
