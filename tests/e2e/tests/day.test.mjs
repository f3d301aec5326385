// The facilitator's day, from an empty database, counted: the admin creates the programme,
// imports the sample grant file and appoints a facilitator; the facilitator signs in from the
// appointment mail, plans four sessions, invites an expert booked for the first session and
// invites every project contact. Every click, fill, select and opened mail link counts as an
// action; the whole day must take 25 or fewer.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  SAMPLE_CSV,
  adminSignInLink,
  expectNoAxeViolations,
  latestMailTo,
  launchBrowser,
  newContext,
  startServer,
} from '../harness.mjs';

const ACTION_LIMIT = 25;
const FACILITATOR = { name: 'Marte Fjeld', email: 'marte.fjeld@example.no' };
const EXPERT = { name: 'Eva Ekspert', email: 'eva.ekspert@example.no' };
const THEME = 'Mat og matsvinn';

let server;
let browser;

before(
  async () => {
    server = await startServer();
    browser = await launchBrowser();
  },
  { timeout: 90_000 },
);

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Counts what a person does in the browser; each method is one action. */
class Actions {
  log = [];

  get count() {
    return this.log.length;
  }

  async click(locator, what) {
    await locator.click();
    this.log.push(`click ${what}`);
  }

  async fill(locator, value, what) {
    await locator.fill(value);
    this.log.push(`fill ${what}`);
  }

  async select(locator, option, what) {
    await locator.selectOption(option);
    this.log.push(`select ${what}`);
  }

  async upload(locator, file, what) {
    await locator.setInputFiles(file);
    this.log.push(`choose file ${what}`);
  }

  /** Following a link in a mail (or the one the command line printed) is one click. */
  async openLink(page, link, what) {
    await page.goto(link);
    this.log.push(`open link ${what}`);
  }
}

/** The programme starts on the first Monday at least a week from today. */
function programmeDates() {
  const start = new Date();
  start.setUTCDate(start.getUTCDate() + 7);
  while (start.getUTCDay() !== 1) start.setUTCDate(start.getUTCDate() + 1);
  const end = new Date(start);
  end.setUTCDate(end.getUTCDate() + 330);
  const iso = (date) => date.toISOString().slice(0, 10);
  return { start: iso(start), end: iso(end), year: start.getUTCFullYear() };
}

test("the facilitator's day takes at most 25 actions", { timeout: 180_000 }, async () => {
  const admin = new Actions();
  const facilitator = new Actions();
  const dates = programmeDates();

  // The admin.
  const adminContext = await newContext(browser);
  const adminPage = await adminContext.newPage();
  await admin.openLink(adminPage, await adminSignInLink(server), 'sign-in link');
  await admin.click(adminPage.getByRole('button', { name: 'Logg inn' }), 'Logg inn');
  await adminPage.getByRole('heading', { level: 1, name: 'Oversikt' }).waitFor();

  await admin.fill(adminPage.getByLabel('Navn', { exact: true }).last(), `Klimasats-forum ${dates.year}`, 'programme name');
  await admin.fill(adminPage.getByLabel('Tildelingsår (skilt med komma)'), '2021,2022', 'grant years');
  await admin.fill(adminPage.getByLabel('Startdato'), dates.start, 'start');
  await admin.fill(adminPage.getByLabel('Sluttdato'), dates.end, 'end');
  await admin.click(adminPage.getByRole('button', { name: 'Opprett program' }), 'Opprett program');
  await adminPage.getByRole('status').waitFor();

  await admin.click(adminPage.getByRole('link', { name: 'Importer tilskudd' }), 'Importer tilskudd');
  await admin.upload(adminPage.getByLabel('CSV-fil'), SAMPLE_CSV, 'sample grants');
  await admin.click(adminPage.getByRole('button', { name: 'Importer', exact: true }), 'Importer');
  await adminPage.getByRole('heading', { level: 2, name: 'Importrapport' }).waitFor();

  await admin.click(adminPage.getByRole('link', { name: 'Oversikt' }), 'Oversikt');
  const row = adminPage.getByRole('row').filter({ hasText: THEME });
  await admin.fill(row.getByLabel('Navn'), FACILITATOR.name, 'facilitator name');
  await admin.fill(row.getByLabel('E-post'), FACILITATOR.email, 'facilitator e-mail');
  await admin.click(row.getByRole('button', { name: 'Utnevn' }), 'Utnevn');
  const appointed = await adminPage.getByRole('status').textContent();
  assert.match(appointed, /Marte Fjeld/);
  await expectNoAxeViolations(adminPage);

  // The facilitator, from the appointment mail.
  const appointment = await latestMailTo(server.outboxDir, FACILITATOR.email);
  const signInLink = appointment.links.find((link) => link.includes('/sign-in/'));
  assert.ok(signInLink, `no sign-in link in the appointment mail:\n${appointment.text}`);
  const facilitatorContext = await newContext(browser);
  const page = await facilitatorContext.newPage();
  await facilitator.openLink(page, signInLink, 'appointment mail');
  await facilitator.click(page.getByRole('button', { name: 'Logg inn' }), 'Logg inn');
  await page.getByRole('heading', { level: 1, name: THEME }).waitFor();
  const cohortId = new URL(page.url()).pathname.split('/')[2];

  await facilitator.click(page.getByRole('link', { name: 'Planlegg samlingene' }), 'plan');
  await facilitator.click(page.getByRole('button', { name: 'Foreslå datoer' }), 'Foreslå datoer');
  await facilitator.click(page.getByRole('button', { name: 'Lagre planen' }), 'Lagre planen');
  await page.getByRole('heading', { level: 1, name: THEME }).waitFor();
  assert.equal(await page.locator('.timeline-item').count(), 4);

  // Experts are invited in the form for several people at once, whose role is expert unless
  // changed; choosing a session books the expert for it in the same step.
  const inviteForm = page.locator('form[action$="/invitations/batch"]');
  await facilitator.fill(inviteForm.getByLabel('Personer, én per linje'), `${EXPERT.name} <${EXPERT.email}>`, 'expert');
  await facilitator.select(inviteForm.getByLabel(/Book til samling/), { index: 1 }, 'session 1');
  await facilitator.click(inviteForm.getByRole('button', { name: 'Inviter alle på listen' }), 'invite');
  await page.getByRole('status').waitFor();

  await facilitator.click(page.getByRole('button', { name: /^Inviter \d+ prosjektkontakt/ }), 'invite every contact');
  await page.getByRole('status').waitFor();
  await expectNoAxeViolations(page);

  const total = admin.count + facilitator.count;
  const report = [...admin.log.map((line) => `admin: ${line}`), ...facilitator.log.map((line) => `facilitator: ${line}`)];
  console.log(`the facilitator's day: ${admin.count} admin + ${facilitator.count} facilitator = ${total} actions\n${report.join('\n')}`);
  assert.ok(total <= ACTION_LIMIT, `${total} actions (limit ${ACTION_LIMIT}):\n${report.join('\n')}`);


  // What the day achieved (checked without counting: the day is over).
  // The expert's invitation names the cohort and the session they are booked for, with its time.
  const invitation = await latestMailTo(server.outboxDir, EXPERT.email);
  assert.match(invitation.text, /Mat og matsvinn/);
  assert.match(invitation.text, /«Mat og matsvinn – samling 1», \p{L}+ \d{1,2}\. \p{L}+ \d{4} kl\. \d\d:\d\d–\d\d:\d\d/u);
  // A project contact from the grant file got theirs.
  const contactMail = await latestMailTo(server.outboxDir, 'kari.nordmann@example.trondheim.kommune.no');
  assert.ok(contactMail.links.some((link) => link.includes('/invitations/accept')), contactMail.text);

  // The first session is at least three weeks away (the default lead time), and the expert is
  // booked for it, shown as not yet answered.
  const sessions = await (await page.request.get(`${server.url}/api/v1/cohorts/${cohortId}/sessions`)).json();
  assert.equal(sessions.length, 4);
  await page.goto(`${server.url}/sessions/${sessions[0].id}`);
  await page.getByText('invitert, ikke svart').first().waitFor();
  const firstStart = new Date(sessions[0].starts_at);
  const threeWeeks = Date.now() + 21 * 24 * 3600 * 1000 - 24 * 3600 * 1000;
  assert.ok(firstStart.getTime() >= threeWeeks, `first session at ${sessions[0].starts_at}`);

  await adminContext.close();
  await facilitatorContext.close();
});
