// The accessibility statement, the privacy notice and help: reached from the footer of an
// ordinary page, by mouse and by keyboard, signed out and signed in, in Bokmål, Nynorsk and
// English. Each has one h1, headings without skipped levels, the page's landmarks and its own
// footer link marked current; nothing scrolls sideways and axe finds no WCAG 2.1 AA violation at
// a phone's and a laptop's width. Screenshots of the three (Bokmål) go to docs/screenshots/.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  E2E_DIR,
  expectNoAxeViolations,
  freshPage,
  launchBrowser,
  signedInPage,
  startServer,
  submitForm,
} from '../harness.mjs';

const PROJECT_LEAD = 'ingrid.berg@example.drammen.kommune.no';

const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };
const VIEWPORTS = [PHONE, LAPTOP];

const SCREENSHOT_DIR = path.resolve(E2E_DIR, '../../docs/screenshots');

/** What each language calls things; the option names in the language picker are the same in all. */
const LANGUAGES = {
  nb: {
    option: 'Bokmål',
    languageLabel: 'Språk',
    change: 'Bytt språk',
    footer: 'Om Samling',
    mainNavigation: 'Hovedmeny',
    contents: 'Innhold på siden',
    pages: {
      accessibility: { link: 'Tilgjengelighetserklæring', heading: 'Tilgjengelighetserklæring for Samling' },
      privacy: { link: 'Personvernerklæring', heading: 'Personvernerklæring for Samling' },
      help: { link: 'Hjelp', heading: 'Hjelp' },
    },
  },
  nn: {
    option: 'Nynorsk',
    languageLabel: 'Språk',
    change: 'Byt språk',
    footer: 'Om Samling',
    mainNavigation: 'Hovudmeny',
    contents: 'Innhald på sida',
    pages: {
      accessibility: { link: 'Tilgjengelegheitserklæring', heading: 'Tilgjengelegheitserklæring for Samling' },
      privacy: { link: 'Personvernerklæring', heading: 'Personvernerklæring for Samling' },
      help: { link: 'Hjelp', heading: 'Hjelp' },
    },
  },
  en: {
    option: 'English',
    languageLabel: 'Language',
    change: 'Change language',
    footer: 'About Samling',
    mainNavigation: 'Main menu',
    contents: 'On this page',
    pages: {
      accessibility: { link: 'Accessibility statement', heading: 'Accessibility statement for Samling' },
      privacy: { link: 'Privacy notice', heading: 'Privacy notice for Samling' },
      help: { link: 'Help', heading: 'Help' },
    },
  },
};

const PATHS = { accessibility: '/tilgjengelighet', privacy: '/personvern', help: '/hjelp' };

/** The default contact addresses (the server runs with the default settings). */
const CONTACTS = { accessibility: 'tilgjengelighet@example.no', privacy: 'personvern@example.no' };

/** Opening three pages in three languages at two widths with axe, twice, takes a while. */
const TIMEOUT_MS = 600_000;

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

/** Switches the page's language with the picker in the header, from `from` to `to`. */
async function chooseLanguage(page, from, to) {
  await page.getByLabel(LANGUAGES[from].languageLabel, { exact: true }).selectOption({ label: LANGUAGES[to].option });
  await submitForm(page, page.getByRole('button', { name: LANGUAGES[from].change, exact: true }), 303);
  await page.waitForFunction((code) => document.documentElement.lang === code, to);
}

/** The footer's navigation: inside the contentinfo landmark, named in the page's language. */
function footerNavigation(page, language) {
  return page.getByRole('contentinfo').getByRole('navigation', { name: LANGUAGES[language].footer, exact: true });
}

/** The levels of the headings in <main>, in order. */
async function headingLevels(page) {
  return page.locator('main').locator('h1, h2, h3, h4, h5, h6').evaluateAll((headings) =>
    headings.map((heading) => Number(heading.tagName.slice(1))),
  );
}

/**
 * Checks the info page `key` that is open in `page`: its language, heading, landmarks, footer
 * link, the links it must have, and at both widths no sideways scrolling and no axe violation.
 */
async function checkInfoPage(page, language, key, { signedIn }) {
  const words = LANGUAGES[language];
  const where = `${PATHS[key]} in ${language}${signedIn ? ', signed in' : ''}`;
  assert.equal(new URL(page.url()).pathname, PATHS[key], where);
  assert.equal(await page.getAttribute('html', 'lang'), language, `${where}: the page's language`);
  await page.getByRole('heading', { level: 1, name: words.pages[key].heading, exact: true }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1, `${where}: one h1`);
  const levels = await headingLevels(page);
  levels.forEach((level, index) => {
    if (index > 0) assert.ok(level <= levels[index - 1] + 1, `${where}: heading levels skip at ${index}: ${levels}`);
  });
  for (const landmark of ['banner', 'main', 'contentinfo']) {
    assert.equal(await page.getByRole(landmark).count(), 1, `${where}: one ${landmark} landmark`);
  }
  // The normal layout: the main menu only for someone signed in.
  const mainMenu = page.getByRole('navigation', { name: words.mainNavigation, exact: true });
  assert.equal(await mainMenu.count(), signedIn ? 1 : 0, `${where}: the main menu`);
  const ownLink = footerNavigation(page, language).getByRole('link', { name: words.pages[key].link, exact: true });
  assert.equal(await ownLink.getAttribute('aria-current'), 'page', `${where}: its footer link is marked current`);

  if (key === 'help') {
    // The table of contents leads to a heading on the page for each of its links.
    const contents = page.getByRole('navigation', { name: words.contents, exact: true });
    const targets = await contents.getByRole('link').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    assert.equal(targets.length, 6, `${where}: six parts`);
    for (const target of targets) {
      const tag = await page.locator(target).evaluate((element) => element.tagName);
      assert.equal(tag, 'H2', `${where}: ${target} is a part's heading`);
    }
  } else {
    const contact = CONTACTS[key];
    assert.equal(await page.locator(`main a[href="mailto:${contact}"]`).count() >= 1, true, `${where}: mails ${contact}`);
  }

  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const { scroll, inner } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
    }));
    assert.ok(scroll <= inner, `${where} at ${viewport.width}: scrollWidth ${scroll} > ${inner}`);
    await expectNoAxeViolations(page);
  }
}

/** From an ordinary page, follows each footer link and checks where it leads, in each language. */
async function walkTheFooter(page, startPath, { signedIn }) {
  await page.setViewportSize(LAPTOP);
  await page.goto(`${server.url}${startPath}`);
  let current = 'nb';
  for (const language of ['nb', 'nn', 'en']) {
    if (language !== current) {
      await chooseLanguage(page, current, language);
      current = language;
    }
    for (const key of Object.keys(PATHS)) {
      await page.goto(`${server.url}${startPath}`);
      await footerNavigation(page, language).getByRole('link', { name: LANGUAGES[language].pages[key].link, exact: true }).click();
      await page.waitForURL((url) => url.pathname === PATHS[key]);
      await checkInfoPage(page, language, key, { signedIn });
      await page.setViewportSize(LAPTOP);
    }
  }
  // Back to Bokmål, so this person's language is as it was.
  await chooseLanguage(page, current, 'nb');
}

test('signed out, the footer of the sign-in page leads to the three pages in every language', { timeout: TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await walkTheFooter(page, '/sign-in', { signedIn: false });
});

test('signed in, the footer of my cohorts leads to the three pages in every language', { timeout: TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, PROJECT_LEAD);
  await walkTheFooter(page, '/cohorts', { signedIn: true });
});

test('the footer links are reached and followed with the keyboard alone', { timeout: 120_000 }, async (t) => {
  const page = await freshPage(browser, t);
  await page.setViewportSize(LAPTOP);
  await page.goto(`${server.url}/sign-in`);
  const help = footerNavigation(page, 'nb').getByRole('link', { name: 'Hjelp', exact: true });
  let focused = false;
  for (let step = 0; step < 20 && !focused; step += 1) {
    await page.keyboard.press('Tab');
    focused = await help.evaluate((link) => link === document.activeElement);
  }
  assert.ok(focused, 'the help link in the footer is reached by Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/hjelp');
  // On the help page, a part of the table of contents is opened by keyboard too.
  const contents = page.getByRole('navigation', { name: 'Innhold på siden', exact: true });
  const facilitators = contents.getByRole('link', { name: 'For fasilitatorer', exact: true });
  await facilitators.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.hash === '#facilitators');
  const top = await page.locator('#facilitators').evaluate((heading) => heading.getBoundingClientRect().top);
  const height = await page.evaluate(() => window.innerHeight);
  assert.ok(top > -1 && top < height, `the part is scrolled into view (its top at ${top} of ${height})`);
});

test('screenshots of the three pages at 390 and 1280 px', { timeout: 120_000 }, async (t) => {
  const page = await freshPage(browser, t);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const [key, pathname] of Object.entries(PATHS)) {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await page.goto(`${server.url}${pathname}`);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${key}-${viewport.width}.png`), fullPage: true });
    }
  }
});
