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
  await page.getByRole('columnheader', { name: 'E-post' }).waitFor();
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
