// The cohort page as an expert (read only) and as a facilitator (who invites a project lead).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  adminSignInLink,
  confirmSignInLink,
  expectNoAxeViolations,
  freshPage,
  latestMailTo,
  launchBrowser,
  newContext,
  signInByMail,
  startServer,
  submitForm,
} from '../harness.mjs';

const EXPERT = 'eli.ekspert@example.no';
const FACILITATOR = 'marte.fjeld@example.no';
const KARI = 'kari.nordmann@example.trondheim.kommune.no';

let server;
let browser;
/** Cohort ids by theme slug, e.g. `mat-og-matsvinn`. */
let cohortIds;

before(
  async () => {
    server = await startServer({ demo: true });
    browser = await launchBrowser();
    // The admin sees every cohort in the API; that gives the ids of cohorts the others may not see.
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

/** From /cohorts, follows the link to the "Mat og matsvinn" cohort. */
async function openFoodWasteCohort(page) {
  await page.goto(`${server.url}/cohorts`);
  await page.getByRole('link', { name: 'Mat og matsvinn' }).click();
  await page.waitForURL(`${server.url}/cohorts/${cohortIds['mat-og-matsvinn']}`);
  await page.getByRole('heading', { level: 1, name: 'Mat og matsvinn' }).waitFor();
}

test('an expert sees the cohort without e-mail addresses, and not other cohorts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  assert.ok(cohortIds['mat-og-matsvinn'] && cohortIds.sirkulaerokonomi, `cohorts: ${JSON.stringify(cohortIds)}`);
  const page = await freshPage(browser, t);
  await signInByMail(page, server, EXPERT);
  await openFoodWasteCohort(page);

  const members = page.getByRole('table', { name: 'Deltakere' });
  await members.waitFor();
  const columns = (await members.getByRole('columnheader').allTextContents()).map((text) => text.trim());
  assert.deepEqual(columns, ['Navn', 'Rolle', 'Organisasjon']);
  assert.ok(!(await members.textContent()).includes('@'), 'the expert must not see e-mail addresses');
  await members.getByRole('cell', { name: 'Eli Ekspert', exact: true }).waitFor();

  await page
    .getByRole('heading', { level: 3, name: 'Matsvinnreduksjon i kommunale kantiner og sykehjem' })
    .waitFor();
  // An expert may not invite anyone.
  assert.equal(await page.getByRole('button', { name: 'Send invitasjon' }).count(), 0);
  await expectNoAxeViolations(page);

  const response = await page.goto(`${server.url}/cohorts/${cohortIds.sirkulaerokonomi}`);
  assert.equal(response.status(), 404);
  await page.getByRole('heading', { level: 1, name: 'Fant ikke siden' }).waitFor();
  assert.ok(!(await page.getByRole('main').textContent()).includes('Sirkulærøkonomi'));
  await expectNoAxeViolations(page);
});

test('a facilitator invites a project lead, who accepts in another browser', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await openFoodWasteCohort(page);
  // Facilitators see the e-mail column and the invite form.
  await page.getByRole('table', { name: 'Deltakere' }).getByRole('columnheader', { name: 'E-post' }).waitFor();
  await expectNoAxeViolations(page);

  const invite = page.getByRole('region', { name: 'Inviter en person' });
  await invite.getByLabel('Navn').fill('Nina Ny');
  await invite.getByLabel('E-post').fill('nina.ny@example.no');
  await invite.getByLabel('Rolle').selectOption('project_lead');
  const since = Date.now();
  await submitForm(page, invite.getByRole('button', { name: 'Send invitasjon' }), 303);

  const notice = page.getByRole('status');
  await notice.waitFor();
  assert.equal((await notice.textContent()).trim(), 'Invitasjonen er sendt til nina.ny@example.no.');
  await invite.getByText('Nina Ny <nina.ny@example.no>', { exact: false }).waitFor();
  await expectNoAxeViolations(page);

  const mail = await latestMailTo(server.outboxDir, 'nina.ny@example.no', { since });
  assert.equal(mail.subject, 'Invitasjon til temagruppen Mat og matsvinn i Samling');
  assert.ok(mail.text.includes('Marte Fjeld har invitert deg'), mail.text);
  assert.equal(mail.links.length, 1, `expected one link in the invitation:\n${mail.text}`);
  assert.ok(mail.links[0].startsWith(`${server.url}/invitations/accept?token=`), `unexpected link ${mail.links[0]}`);

  // Nina, in a browser of her own.
  const nina = await freshPage(browser, t);
  await nina.goto(mail.links[0]);
  await nina.getByRole('heading', { level: 1, name: 'Bli med i temagruppen' }).waitFor();
  await expectNoAxeViolations(nina);
  await submitForm(nina, nina.getByRole('button', { name: 'Takk ja og logg inn' }), 303);
  await nina.waitForURL(`${server.url}/cohorts/${cohortIds['mat-og-matsvinn']}`);
  await nina.getByText('Innlogget som Nina Ny').waitFor();
  await nina.getByRole('heading', { level: 1, name: 'Mat og matsvinn' }).waitFor();
  const ninaRow = nina.getByRole('row').filter({ has: nina.getByRole('cell', { name: 'Nina Ny', exact: true }) });
  await ninaRow.getByRole('cell', { name: 'Prosjektleder', exact: true }).waitFor();
});

test('a facilitator sees the project contacts and invites every one not yet invited in one click', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const food = cohortIds['mat-og-matsvinn'];
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  // The demo made every contact a member; take one out so that one is not invited.
  const detail = await (await page.request.get(`${server.url}/api/v1/cohorts/${food}`)).json();
  const kari = detail.members.find((member) => member.email === KARI);
  assert.ok(kari, `Kari is a member: ${JSON.stringify(detail.members)}`);
  const removed = await page.request.delete(`${server.url}/api/v1/cohorts/${food}/members/${kari.user_id}`);
  assert.equal(removed.status(), 204, await removed.text());

  await openFoodWasteCohort(page);
  const contacts = page.getByRole('region', { name: 'Prosjektkontakter' });
  const table = contacts.getByRole('table', { name: 'Prosjektkontakter' });
  const kariRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Kari Nordmann', exact: true }) });
  await kariRow.getByRole('cell', { name: 'Ikke invitert', exact: true }).waitFor();
  await kariRow.getByRole('cell', { name: 'Trondheim kommune', exact: true }).waitFor();
  const olaRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Ola Hansen', exact: true }) });
  await olaRow.getByRole('cell', { name: 'Godtatt', exact: true }).waitFor();

  // The preview says who gets what before the click.
  const preview = contacts.getByRole('table', { name: 'Inviter alle prosjektkontakter som ikke er invitert' });
  const rows = preview.getByRole('row');
  assert.equal(await rows.count(), 2, 'a header and Kari');
  const cells = (await rows.nth(1).getByRole('cell').allTextContents()).map((text) => text.trim());
  assert.deepEqual(cells.slice(0, 3), ['Kari Nordmann', KARI, 'Prosjektleder']);
  await expectNoAxeViolations(page);

  const since = Date.now();
  await submitForm(page, contacts.getByRole('button', { name: 'Inviter 1 prosjektkontakt', exact: true }), 200);
  const report = page.locator('#invite-report');
  await report.waitFor();
  assert.equal(await report.getAttribute('role'), 'status');
  assert.equal((await report.textContent()).trim(), 'Invitasjoner sendt: 1.');
  await kariRow.getByRole('cell', { name: /^Invitert / }).waitFor();
  await contacts.getByText('Alle prosjektkontakter med e-postadresse er invitert.').waitFor();
  await expectNoAxeViolations(page);

  const mail = await latestMailTo(server.outboxDir, KARI, { since });
  assert.equal(mail.subject, 'Invitasjon til temagruppen Mat og matsvinn i Samling');

  // Withdrawn, the contact is "not invited" again.
  await submitForm(page, kariRow.getByRole('button', { name: 'Trekk tilbake Kari Nordmann' }), 303);
  await page.getByRole('status').filter({ hasText: 'er trukket tilbake' }).waitFor();
  await kariRow.getByRole('cell', { name: 'Ikke invitert', exact: true }).waitFor();
});

test('several addresses at once: a bad line is named and nobody is invited', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await signInByMail(page, server, FACILITATOR);
  await openFoodWasteCohort(page);
  const batch = page.getByRole('region', { name: 'Inviter flere på en gang' });
  await batch.getByLabel('Personer, én per linje').fill('Guri Gjest <guri@example.no>\nbare et navn');
  await batch.getByLabel('Rolle').selectOption('observer');
  await submitForm(page, batch.getByRole('button', { name: 'Inviter alle på listen' }), 422);
  const error = batch.getByRole('alert');
  assert.match((await error.textContent()).trim(), /^Linje 2 kan ikke leses: «bare et navn»/);
  assert.equal(await page.getByText('guri@example.no').count(), 1, 'only the text area holds the address');
  await expectNoAxeViolations(page);

  await batch.getByLabel('Personer, én per linje').fill('Guri Gjest <guri@example.no>\nhans@example.no, Hans Gjest');
  await submitForm(page, batch.getByRole('button', { name: 'Inviter alle på listen' }), 200);
  assert.equal((await page.locator('#invite-report').textContent()).trim(), 'Invitasjoner sendt: 2.');
});
