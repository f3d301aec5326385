// Signing in by e-mailed link, the skip link, and switching language.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_TIMEOUT_MS,
  confirmSignInLink,
  expectNoAxeViolations,
  freshPage,
  latestMailTo,
  launchBrowser,
  startServer,
  submitForm,
} from '../harness.mjs';

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

test('an expert signs in with the e-mailed link, which works once', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await page.goto(`${server.url}/sign-in`);
  await page.getByRole('heading', { level: 1, name: 'Logg inn' }).waitFor();
  await expectNoAxeViolations(page);

  // "ola@example" passes the browser's own check of type="email" but not the server's.
  await page.getByLabel('E-postadresse').fill('ola@example');
  await submitForm(page, page.getByRole('button', { name: 'Send meg en lenke' }), 422);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Skriv inn en gyldig e-postadresse.');
  assert.equal(await page.getByLabel('E-postadresse').getAttribute('aria-invalid'), 'true');
  await expectNoAxeViolations(page);

  const since = Date.now();
  await page.getByLabel('E-postadresse').fill(EXPERT);
  await submitForm(page, page.getByRole('button', { name: 'Send meg en lenke' }), 200);
  await page.getByRole('heading', { level: 1, name: 'Sjekk e-posten din' }).waitFor();

  const mail = await latestMailTo(server.outboxDir, EXPERT, { since });
  assert.equal(mail.subject, 'Logg inn i Samling');
  assert.equal(mail.links.length, 1, `expected one link in the mail:\n${mail.text}`);
  const [link] = mail.links;
  assert.ok(link.startsWith(`${server.url}/sign-in/link?token=`), `unexpected link ${link}`);

  await confirmSignInLink(page, link);
  const cohortNames = await page.getByRole('main').getByRole('heading', { level: 2 }).allTextContents();
  assert.deepEqual(
    cohortNames.map((name) => name.trim()),
    ['Mat og matsvinn'],
  );
  assert.ok(!(await page.getByRole('main').textContent()).includes('Sirkulærøkonomi'));
  await expectNoAxeViolations(page);

  // The same link a second time: the confirm page still opens (a mail scanner may fetch it),
  // but the button no longer signs in.
  await page.goto(link);
  await submitForm(page, page.getByRole('button', { name: 'Logg inn', exact: true }), 422);
  await page.getByRole('heading', { level: 1, name: 'Lenken virker ikke' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/sign-in/link');
  await expectNoAxeViolations(page);
});

test('the first Tab reaches the skip link, which moves focus to the main content', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await page.goto(`${server.url}/sign-in`);

  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    text: document.activeElement?.textContent?.trim(),
    href: document.activeElement?.getAttribute('href'),
  }));
  assert.deepEqual(focused, { text: 'Hopp til hovedinnholdet', href: '#main' });
  // Hidden off-screen until focused; once focused it must be on screen (WCAG 2.4.7).
  const box = await page.getByRole('link', { name: 'Hopp til hovedinnholdet' }).boundingBox();
  const viewport = page.viewportSize();
  assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width, `skip link at ${JSON.stringify(box)}`);

  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'MAIN');
});

test('choosing English switches the page to English', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await page.goto(`${server.url}/sign-in`);
  assert.equal(await page.getAttribute('html', 'lang'), 'nb');

  await page.getByLabel('Språk').selectOption({ label: 'English' });
  await submitForm(page, page.getByRole('button', { name: 'Bytt språk' }), 303);
  await page.waitForFunction(() => document.documentElement.lang === 'en');

  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByLabel('Email address').waitFor();
  assert.equal(await page.getByLabel('Language').inputValue(), 'en');
  await expectNoAxeViolations(page);
});
