// Discussions: the thread list, starting a thread, live posts between two people over the
// websocket (announced to screen readers), typing and presence, reactions, the answer mark,
// editing, deleting and reporting from the page, the no-JS fallback, the notice when the
// session ends, and the "reconnecting" status when the server goes away.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  adminSignInLink,
  confirmSignInLink,
  expectNoAxeViolations,
  launchBrowser,
  newContext,
  signInByMail,
  signedInPage,
  startServer,
  submitForm,
} from '../harness.mjs';

/** A demo project lead of "Mat og matsvinn" and its facilitator: two members of one cohort. */
const PROJECT_LEAD = 'ingrid.berg@example.drammen.kommune.no';
const PROJECT_LEAD_NAME = 'Ingrid Berg';
const FACILITATOR = 'marte.fjeld@example.no';
const FACILITATOR_NAME = 'Marte Fjeld';
/** The demo's expert, booked in the same cohort. */
const EXPERT = 'eli.ekspert@example.no';

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
      assert.equal(response.status(), 200, await response.text());
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

const threadsUrl = () => `${server.url}/cohorts/${cohortId}/threads`;

/** Starts a thread through the form on the thread list and returns its URL. */
async function startThread(page, title, body) {
  await page.goto(threadsUrl());
  await page.getByRole('heading', { level: 1, name: 'Diskusjoner: Mat og matsvinn' }).waitFor();
  const form = page.getByRole('region', { name: 'Start en ny tråd' });
  await form.getByLabel('Tittel').fill(title);
  await form.getByLabel('Innlegg', { exact: true }).fill(body);
  await submitForm(page, form.getByRole('button', { name: 'Start tråden' }), 303);
  await page.waitForURL(/\/threads\/\d+$/);
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  return page.url();
}

/** The live status (role="status") reads `text`. */
async function waitForStatus(page, text) {
  await page.locator('#live-status', { hasText: text }).waitFor();
}

test('the thread list shows the demo threads with their badges and passes axe', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, PROJECT_LEAD);
  await page.goto(`${server.url}/cohorts/${cohortId}`);
  await page.getByRole('link', { name: 'Diskusjoner', exact: true }).click();
  await page.waitForURL(threadsUrl());
  const list = page.getByRole('region', { name: 'Tråder' });
  const items = list.getByRole('listitem');
  assert.ok((await items.count()) >= 2, 'the demo cohort has threads');
  // Pinned first.
  await items.first().getByText('Festet', { exact: true }).waitFor();
  await list.getByText('Besvart', { exact: true }).first().waitFor();
  await expectNoAxeViolations(page);

  // An empty form is refused by the browser; a title that is only spaces by the server.
  const form = page.getByRole('region', { name: 'Start en ny tråd' });
  await form.getByLabel('Tittel').fill('   ');
  await form.getByLabel('Innlegg', { exact: true }).fill('Noe å si');
  await submitForm(page, form.getByRole('button', { name: 'Start tråden' }), 422);
  await page.getByRole('alert').getByText('Skriv inn en tittel (høyst 200 tegn).').waitFor();
  assert.equal(await form.getByLabel('Innlegg', { exact: true }).inputValue(), 'Noe å si', 'the body is kept');
  await expectNoAxeViolations(page);
});

test('the typing notice ends as soon as that person\'s post arrives', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const lead = await signedIn(t, PROJECT_LEAD);
  const facilitator = await signedIn(t, FACILITATOR);
  const url = await startThread(lead, 'Skriver du fortsatt?', 'Et spørsmål om veiing.');
  await waitForStatus(lead, 'Tilkoblet');
  await facilitator.goto(url);
  await waitForStatus(facilitator, 'Tilkoblet');
  await lead.locator('#presence', { hasText: `Her nå: ${FACILITATOR_NAME}` }).waitFor();

  const reply = 'Vi veier to ganger i uka.';
  await lead.getByLabel('Ditt svar').pressSequentially(reply, { delay: 10 });
  const notice = facilitator.locator('#typing', { hasText: `${PROJECT_LEAD_NAME} skriver` });
  await notice.waitFor();
  await lead.getByRole('button', { name: 'Send svaret' }).click();
  await facilitator.locator('#posts li.post', { hasText: reply }).waitFor();
  // From the moment the post is on the page, the notice must go at once (it used to linger
  // until its five-second timer ran out).
  const shownAt = Date.now();
  await facilitator.locator('#typing').waitFor({ state: 'hidden', timeout: 5_000 });
  const lingered = Date.now() - shownAt;
  t.diagnostic(`typing notice gone ${lingered} ms after the post arrived`);
  assert.ok(lingered < 1_000, `the notice stayed ${lingered} ms after the post`);
  assert.equal(await facilitator.locator('#typing').textContent(), '');
});

test('two members see each other post live, announced, without reloading', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const lead = await signedIn(t, PROJECT_LEAD);
  const facilitator = await signedIn(t, FACILITATOR);

  const url = await startThread(lead, 'Hvordan veier dere matsvinnet?', 'Vi veier hver dag på kjøkkenet. **Hva gjør dere?**');
  await waitForStatus(lead, 'Tilkoblet');
  await lead.locator('#posts strong', { hasText: 'Hva gjør dere?' }).waitFor();
  await expectNoAxeViolations(lead);

  await facilitator.goto(url);
  await waitForStatus(facilitator, 'Tilkoblet');
  await expectNoAxeViolations(facilitator);
  // A page that reloads loses this marker.
  for (const page of [lead, facilitator]) {
    await page.evaluate(() => {
      window.samlingMarker = 'not reloaded';
    });
  }

  // Presence: each sees the other.
  await lead.locator('#presence', { hasText: `Her nå: ${FACILITATOR_NAME}` }).waitFor();
  await facilitator.locator('#presence', { hasText: `Her nå: ${PROJECT_LEAD_NAME}` }).waitFor();

  // Typing is shown to the other, not to oneself.
  await lead.getByLabel('Ditt svar').pressSequentially('Vi bruker ', { delay: 10 });
  await facilitator.locator('#typing', { hasText: `${PROJECT_LEAD_NAME} skriver` }).waitFor();
  assert.equal(await lead.locator('#typing').isVisible(), false, 'nobody sees their own typing');

  const reply = 'Vi bruker en vekt ved oppvasken.';
  await lead.getByLabel('Ditt svar').fill(reply);
  await lead.getByRole('button', { name: 'Send svaret' }).click();

  // The other sees it without reloading, and the live region announces it.
  const replyOnOtherPage = facilitator.locator('#posts li.post', { hasText: reply });
  await replyOnOtherPage.waitFor();
  await facilitator.locator('[aria-live="polite"]', { hasText: `Nytt innlegg fra ${PROJECT_LEAD_NAME}` }).waitFor();
  assert.equal(await facilitator.evaluate(() => window.samlingMarker), 'not reloaded');
  assert.equal(await replyOnOtherPage.locator('.post-author').textContent(), PROJECT_LEAD_NAME);

  // The poster's textarea is cleared and the post is shown once (the socket's event and the reply are one).
  await lead.waitForFunction(() => document.getElementById('reply-body').value === '');
  assert.equal(await lead.evaluate(() => window.samlingMarker), 'not reloaded', 'the reply went over the socket, not as a form');
  await lead.locator('#posts li.post', { hasText: reply }).waitFor();
  assert.equal(await lead.locator('#posts li.post', { hasText: reply }).count(), 1);
  assert.equal(await lead.locator('[aria-live="polite"]').textContent(), '', 'one\'s own post is not announced');

  // The facilitator answers from the keyboard. The lead sees it live, so it counts as read.
  const readStored = lead.waitForResponse(
    (response) => response.url().endsWith('/read') && response.request().method() === 'PUT' && response.status() === 204,
  );
  await facilitator.getByLabel('Ditt svar').focus();
  await facilitator.keyboard.type('Takk! Vi prøver det samme.');
  await facilitator.keyboard.press('Tab'); // past the hint to the button
  await facilitator.keyboard.press('Enter');
  await lead.locator('#posts li.post', { hasText: 'Takk! Vi prøver det samme.' }).waitFor();
  await lead.locator('[aria-live="polite"]', { hasText: `Nytt innlegg fra ${FACILITATOR_NAME}` }).waitFor();
  await readStored;
  await expectNoAxeViolations(facilitator);

  await lead.goto(threadsUrl());
  const item = lead.getByRole('listitem').filter({ has: lead.getByRole('link', { name: 'Hvordan veier dere matsvinnet?' }) });
  await item.getByText('3 innlegg').waitFor();
  assert.equal(await item.getByText('1 ulest', { exact: true }).count(), 0, 'a post seen live is read');

  // A post made while the lead is elsewhere counts as unread on the list.
  await facilitator.getByLabel('Ditt svar').focus();
  await facilitator.keyboard.type('Ett spørsmål til.');
  await facilitator.keyboard.press('Tab');
  await facilitator.keyboard.press('Enter');
  await facilitator.locator('#posts li.post', { hasText: 'Ett spørsmål til.' }).waitFor();
  await lead.goto(threadsUrl());
  await item.getByText('1 ulest', { exact: true }).waitFor();
  await item.getByText('4 innlegg').waitFor();
  // Opening the thread reads it.
  await item.getByRole('link').click();
  await lead.waitForURL(url);
  await lead.goto(threadsUrl());
  await item.getByText('4 innlegg').waitFor();
  assert.equal(await item.getByText('1 ulest', { exact: true }).count(), 0);
});

test('without JavaScript the reply form posts and the page shows the post', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const lead = await signedIn(t, PROJECT_LEAD);
  const url = await startThread(lead, 'Spørsmål uten skript', 'Fungerer det uten JavaScript?');

  const page = await signedIn(t, FACILITATOR, { javaScriptEnabled: false });
  await page.goto(url);
  await page.getByRole('heading', { level: 1, name: 'Spørsmål uten skript' }).waitFor();
  assert.equal(await page.locator('#live-status').textContent(), '', 'no live status without the script');
  const reply = 'Ja, skjemaet sendes som vanlig.';
  await page.getByLabel('Ditt svar').fill(reply);
  await submitForm(page, page.getByRole('button', { name: 'Send svaret' }), 303);
  await page.waitForURL(/\/threads\/\d+#post-\d+$/);
  const postId = new URL(page.url()).hash.slice(1);
  await page.locator(`#${postId}`, { hasText: reply }).waitFor();
  assert.equal(await page.locator('#posts li.post', { hasText: reply }).count(), 1);

  // The lead, live on the page, sees the no-JS reply arrive.
  await lead.locator('#posts li.post', { hasText: reply }).waitFor();
});

test('from the thread page a member reacts, marks the answer, edits and deletes, and the other sees it live', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const lead = await signedIn(t, PROJECT_LEAD);
  const facilitator = await signedIn(t, FACILITATOR);
  const url = await startThread(lead, 'Hvem har erfaring med kompostering?', 'Vi vurderer kompost i barnehagene.');
  await facilitator.goto(url);
  await waitForStatus(facilitator, 'Tilkoblet');
  await facilitator.getByLabel('Ditt svar').fill('Asker kommune komposterer i alle barnehager.');
  await facilitator.getByRole('button', { name: 'Send svaret' }).click();
  const answerOnLeadPage = lead.locator('#posts li.post', { hasText: 'Asker kommune komposterer' });
  await answerOnLeadPage.waitFor();
  await waitForStatus(lead, 'Tilkoblet');

  // A reaction goes through the API: the button is pressed for the lead, the count reaches the other live.
  const thanks = answerOnLeadPage.getByRole('button', { name: /Takk/ });
  assert.equal(await thanks.getAttribute('aria-pressed'), 'false');
  await thanks.click();
  await answerOnLeadPage.locator('button[value="thanks"][aria-pressed="true"]', { hasText: '1' }).waitFor();
  const answerOnFacilitatorPage = facilitator.locator('#posts li.post', { hasText: 'Asker kommune komposterer' });
  await answerOnFacilitatorPage.locator('button[value="thanks"][aria-pressed="false"]', { hasText: '1' }).waitFor();
  await expectNoAxeViolations(lead);
  // Pressed again, it is taken back.
  await answerOnLeadPage.locator('button[value="thanks"]').click();
  await answerOnFacilitatorPage.locator('button[value="thanks"]:not(:has(.reaction-count))').waitFor();

  // The asker marks the answer (an ordinary form); the other sees the badge live.
  assert.equal(await lead.locator('#posts li.post').first().getByRole('button', { name: 'Merk som svaret' }).count(), 0,
    'the question is not its own answer');
  await submitForm(lead, answerOnLeadPage.getByRole('button', { name: 'Merk som svaret' }), 303);
  await lead.locator('#posts li.post-answer', { hasText: 'Asker kommune komposterer' }).getByText('Svaret', { exact: true }).waitFor();
  await answerOnFacilitatorPage.getByText('Svaret', { exact: true }).waitFor();
  await facilitator.locator('#thread-badges').getByText('Besvart').waitFor();
  await answerOnFacilitatorPage.getByRole('button', { name: 'Fjern svarmerket' }).waitFor();

  // The lead edits the question on its own page; the old text is kept as a revision.
  await lead.locator('#posts li.post').first().getByRole('link', { name: 'Rediger' }).click();
  await lead.getByRole('heading', { level: 1, name: 'Rediger innlegget ditt' }).waitFor();
  await expectNoAxeViolations(lead);
  const editBox = lead.getByLabel('Innlegget', { exact: true });
  assert.equal(await editBox.inputValue(), 'Vi vurderer kompost i barnehagene.');
  await editBox.fill('   ');
  await submitForm(lead, lead.getByRole('button', { name: 'Lagre endringen' }), 422);
  await lead.getByRole('alert').waitFor();
  assert.equal(await editBox.getAttribute('aria-invalid'), 'true');
  await expectNoAxeViolations(lead);
  await editBox.fill('Vi vurderer kompost i alle barnehagene i kommunen.');
  await submitForm(lead, lead.getByRole('button', { name: 'Lagre endringen' }), 303);
  await lead.getByRole('status').getByText('Endringen er lagret.').waitFor();
  const firstOnFacilitatorPage = facilitator.locator('#posts li.post').first();
  await firstOnFacilitatorPage.getByText('Vi vurderer kompost i alle barnehagene i kommunen.').waitFor();
  await firstOnFacilitatorPage.getByText('redigert').waitFor();
  const threadId = Number(url.split('/').pop());
  const detail = await (await lead.request.get(`${server.url}/api/v1/threads/${threadId}`)).json();
  const revisions = await (await lead.request.get(`${server.url}/api/v1/posts/${detail.posts[0].id}/revisions`)).json();
  assert.deepEqual(revisions.map((revision) => revision.body_html.trim()), ['<p>Vi vurderer kompost i barnehagene.</p>']);

  // Someone else's post has no edit link, only a report link.
  assert.equal(await answerOnLeadPage.getByRole('link', { name: 'Rediger' }).count(), 0);
  await answerOnLeadPage.getByRole('link', { name: 'Rapporter' }).waitFor();

  // The lead writes a second post and deletes it: it keeps its place, shown as deleted, for both.
  await lead.getByLabel('Ditt svar').fill('Feil tråd, beklager.');
  await lead.getByRole('button', { name: 'Send svaret' }).click();
  const mistake = facilitator.locator('#posts li.post', { hasText: 'Feil tråd, beklager.' });
  await mistake.waitFor();
  const mistakeId = await mistake.getAttribute('data-post-id');
  await lead.locator(`#post-${mistakeId}`).getByRole('link', { name: 'Rediger' }).click();
  await lead.getByRole('heading', { level: 2, name: 'Slett innlegget' }).waitFor();
  await submitForm(lead, lead.getByRole('button', { name: 'Slett innlegget' }), 303);
  await lead.getByRole('status').getByText('Innlegget er slettet.').waitFor();
  await facilitator.locator(`#post-${mistakeId}`).getByText('Innlegget er slettet.').waitFor();
  assert.equal(await facilitator.locator(`#post-${mistakeId}`).getByText('Feil tråd').count(), 0);
  assert.equal(await facilitator.locator(`#post-${mistakeId} .reaction-form`).count(), 0, 'nobody reacts to a deleted post');
});

test('reporting a post from the thread page, and reacting without JavaScript', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const facilitator = await signedIn(t, FACILITATOR);
  const url = await startThread(facilitator, 'Innspill til neste samling', 'Kjøp billige kurs hos oss!');

  const lead = await signedIn(t, PROJECT_LEAD);
  await lead.goto(url);
  const post = lead.locator('#posts li.post').first();
  await post.getByRole('link', { name: 'Rapporter' }).click();
  await lead.getByRole('heading', { level: 1, name: 'Rapporter et innlegg' }).waitFor();
  await lead.getByText('Kjøp billige kurs hos oss!').waitFor();
  await expectNoAxeViolations(lead);
  const reason = lead.getByLabel('Hvorfor bør moderatorene se på innlegget?');
  await reason.fill('  ');
  await submitForm(lead, lead.getByRole('button', { name: 'Send rapporten' }), 422);
  assert.equal(await reason.getAttribute('aria-invalid'), 'true');
  await lead.getByRole('alert').waitFor();
  await reason.fill('Reklame');
  await submitForm(lead, lead.getByRole('button', { name: 'Send rapporten' }), 303);
  await lead.getByRole('status').getByText('Takk. Moderatorene ser på innlegget.').waitFor();

  // The report is in the facilitator's queue.
  await facilitator.goto(`${server.url}/cohorts/${cohortId}/moderation`);
  const item = facilitator.getByRole('listitem').filter({ hasText: 'Innspill til neste samling' });
  await item.getByText(`${PROJECT_LEAD_NAME}: Reklame`).waitFor();

  // Without the script, a reaction is an ordinary form that comes back to the post.
  const plain = await signedIn(t, PROJECT_LEAD, { javaScriptEnabled: false });
  await plain.goto(url);
  const plainPost = plain.locator('#posts li.post').first();
  await submitForm(plain, plainPost.getByRole('button', { name: /Idé/ }), 303);
  await plain.waitForURL(/#post-\d+$/);
  await plain.locator('#posts li.post').first().locator('button[value="idea"][aria-pressed="true"]', { hasText: '1' }).waitFor();
  // Sending the same form again (a double click, a back-and-resend) changes nothing.
  const again = await plain.request.post(`${server.url}/posts/${await plainPost.getAttribute('data-post-id')}/reactions`, {
    form: { csrf_token: await plain.locator('input[name="csrf_token"]').first().inputValue(), add: 'idea' },
    headers: { Origin: server.url },
    maxRedirects: 0,
  });
  assert.equal(again.status(), 303);
  await plain.reload();
  await plain.locator('#posts li.post').first().locator('button[value="idea"][aria-pressed="true"]', { hasText: '1' }).waitFor();
  await submitForm(plain, plain.locator('#posts li.post').first().locator('button[value="idea"]'), 303);
  await plain.locator('#posts li.post').first().locator('button[value="idea"][aria-pressed="false"]').waitFor();
  assert.equal(await plain.locator('#posts li.post').first().locator('button[value="idea"] .reaction-count').count(), 0);
});

// Last: it stops the server.
test('a facilitator hides a reported post from the moderation page and locks the thread', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const lead = await signedIn(t, PROJECT_LEAD);
  const url = await startThread(lead, 'Et innlegg som blir rapportert', 'Dette bryter retningslinjene.');
  const threadId = Number(url.split('/').pop());
  const thread = await (await lead.request.get(`${server.url}/api/v1/threads/${threadId}`)).json();
  const postId = thread.posts[0].id;
  const reported = await lead.request.post(`${server.url}/api/v1/posts/${postId}/reports`, {
    data: { reason: 'Utenfor temaet' },
  });
  assert.equal(reported.status(), 204, await reported.text());

  const facilitator = await signedIn(t, FACILITATOR);
  await facilitator.goto(threadsUrl());
  await facilitator.getByRole('link', { name: 'Moderering: rapporterte og skjulte innlegg' }).click();
  const item = facilitator.getByRole('listitem').filter({ hasText: 'Et innlegg som blir rapportert' });
  await item.getByText('Utenfor temaet').waitFor();
  await expectNoAxeViolations(facilitator);
  await item.getByLabel('Begrunnelse').fill('Hører ikke hjemme her');
  await submitForm(facilitator, item.getByRole('button', { name: 'Skjul innlegget' }), 200);
  await facilitator.getByRole('status').getByText('Innlegget er skjult, og forfatteren har fått beskjed.').waitFor();
  await facilitator.getByText('Skjult fordi: Hører ikke hjemme her').waitFor();
  await expectNoAxeViolations(facilitator);

  // The author's page shows the post hidden; a moderator locks the thread from its page.
  await lead.goto(url);
  await lead.getByText('Innlegget er skjult av en moderator.').waitFor();
  await facilitator.goto(url);
  await submitForm(facilitator, facilitator.getByRole('button', { name: 'Lås tråden' }), 303);
  await facilitator.getByRole('button', { name: 'Lås opp tråden' }).waitFor();
  await lead.goto(url);
  await lead.getByText('Tråden er låst. Nye innlegg er ikke mulig.').waitFor();
  await expectNoAxeViolations(facilitator);
});

test('signing out in another tab ends the live thread with a notice instead of retrying', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // A sign-in of its own (not the shared one of signedIn), since signing out revokes it.
  const context = await newContext(browser);
  t.after(() => context.close());
  const page = await context.newPage();
  await signInByMail(page, server, EXPERT);
  await page.goto(threadsUrl());
  await page.getByRole('region', { name: 'Tråder' }).getByRole('link').first().click();
  await page.waitForURL(/\/threads\/\d+$/);
  await waitForStatus(page, 'Tilkoblet');
  // The same browser, another tab: signing out closes this page's socket with 4401.
  const other = await page.context().newPage();
  await other.goto(`${server.url}/cohorts`);
  await submitForm(other, other.getByRole('button', { name: 'Logg ut' }), 303);
  await waitForStatus(page, 'Du er logget ut');
  // It stays so: no reconnecting after the session ended.
  await page.waitForTimeout(1500);
  assert.equal(
    await page.locator('#live-status').textContent(),
    'Du er logget ut. Last inn siden og logg inn igjen for å se nye innlegg.',
  );
  assert.equal(await page.locator('#live-status').getAttribute('data-state'), 'ended');
});

test('the live status says it is reconnecting when the server goes away', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await signedIn(t, PROJECT_LEAD);
  await page.goto(threadsUrl());
  await page.getByRole('region', { name: 'Tråder' }).getByRole('link').first().click();
  await page.waitForURL(/\/threads\/\d+$/);
  await waitForStatus(page, 'Tilkoblet');
  await server.stop();
  await waitForStatus(page, 'Kobler til på nytt');
  assert.equal(await page.getByRole('status').textContent(), 'Kobler til på nytt …');
});
