// Every page fits every screen: with the demo data, each role opens every page it can reach at
// a phone's width (390 × 844) and a laptop's (1280 × 800). Nothing may scroll sideways and axe
// may find no WCAG 2.1 AA violation. The header folds into a menu on the phone, opened by
// keyboard, and shows its links without JavaScript. Screenshots of the cohort page, a session
// and a thread at both widths go to docs/screenshots/.

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
} from '../harness.mjs';

const ADMIN = 'admin@example.no';
const FACILITATOR = 'marte.fjeld@example.no';
const PROJECT_LEAD = 'ingrid.berg@example.drammen.kommune.no';
const EXPERT = 'eli.ekspert@example.no';

const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };
const VIEWPORTS = [PHONE, LAPTOP];

const SCREENSHOT_DIR = path.resolve(E2E_DIR, '../../docs/screenshots');

/** Opening every page of a role at two widths with axe takes a while on a busy machine. */
const ROLE_TIMEOUT_MS = 600_000;

let server;
let browser;

before(async () => {
  server = await startServer({ demo: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * The elements that stick out to the right of the viewport, outermost first: the ones whose
 * right edge passes the window and that are not clipped by a scrolling ancestor, without their
 * descendants that stick out only because they do.
 */
async function tooWide(page) {
  return page.evaluate(() => {
    const limit = window.innerWidth + 0.5;
    const clippedByScroller = (element) => {
      for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
        const overflow = getComputedStyle(parent).overflowX;
        if (overflow !== 'visible' && overflow !== 'clip' && parent.getBoundingClientRect().right <= limit) return true;
      }
      return false;
    };
    const sticksOut = (element) => element.getBoundingClientRect().right > limit && !clippedByScroller(element);
    const describe = (element) => {
      const id = element.id ? `#${element.id}` : '';
      const classes = [...element.classList].map((name) => `.${name}`).join('');
      const { left, right, width } = element.getBoundingClientRect();
      const text = (element.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
      return `<${element.tagName.toLowerCase()}${id}${classes}> left ${Math.round(left)} right ${Math.round(right)} width ${Math.round(width)} "${text}"`;
    };
    return [...document.body.querySelectorAll('*')]
      .filter(sticksOut)
      .filter((element) => !element.parentElement || element.parentElement === document.body || !sticksOut(element.parentElement))
      .slice(0, 8)
      .map(describe);
  });
}

/** Opens `pathname` at `viewport`; returns the problems found (empty when the page is fine). */
async function checkPage(page, pathname, viewport) {
  const problems = [];
  await page.setViewportSize(viewport);
  const response = await page.goto(`${server.url}${pathname}`);
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  if (widths.scroll > widths.inner) {
    problems.push(
      `${pathname} at ${viewport.width}: scrollWidth ${widths.scroll} > ${widths.inner} (HTTP ${response?.status()}); too wide:\n      ` +
        (await tooWide(page)).join('\n      '),
    );
  }
  try {
    await expectNoAxeViolations(page);
  } catch (error) {
    problems.push(`${pathname} at ${viewport.width}: ${error.message.split('\n').slice(0, 12).join('\n      ')}`);
  }
  return problems;
}

/** Checks every path at both widths and fails once, listing every problem. */
async function checkEveryPage(page, role, paths) {
  const problems = [];
  for (const pathname of paths) {
    for (const viewport of VIEWPORTS) problems.push(...(await checkPage(page, pathname, viewport)));
  }
  assert.ok(problems.length === 0, `${role}: ${problems.length} problem(s) on ${paths.length} pages:\n  ${problems.join('\n  ')}`);
}

/** The `href` of the first link on the page whose address matches `pattern`. */
async function firstLink(page, pattern, what) {
  const hrefs = await page.locator('main a[href]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
  const found = hrefs.find((href) => pattern.test(href));
  assert.ok(found, `no link to ${what} (${pattern}) on ${page.url()}; links: ${hrefs.join(', ')}`);
  return found;
}

/** The paths a member of a cohort reaches from their first cohort's page. */
async function cohortPaths(page) {
  await page.goto(`${server.url}/cohorts`);
  const cohort = await firstLink(page, /^\/cohorts\/\d+$/, 'a cohort');
  await page.goto(`${server.url}${cohort}`);
  const session = await firstLink(page, /^\/sessions\/\d+$/, 'a session');
  const themeResources = await firstLink(page, /^\/themes\/\d+\/resources$/, 'the theme resources');
  const project = await firstLink(page, /^\/projects\/\d+$/, 'a project');
  await page.goto(`${server.url}${cohort}/threads`);
  const thread = await firstLink(page, /^\/threads\/\d+$/, 'a thread');
  await page.goto(`${server.url}/lessons`);
  const lesson = await firstLink(page, /^\/lessons\/\d+$/, 'a lesson');
  return {
    cohort,
    session,
    thread,
    paths: [
      '/cohorts',
      cohort,
      `${cohort}/threads`,
      thread,
      session,
      `${cohort}/resources`,
      themeResources,
      project,
      '/lessons',
      lesson,
      '/search?q=mat',
      '/settings',
      '/calendar',
      '/no-such-page',
      // The cohort's report: every member sees at least its public figures.
      `/reports${cohort}`,
    ],
  };
}

test('signed out, every page fits a phone and a laptop and passes axe', { timeout: ROLE_TIMEOUT_MS }, async (t) => {
  const page = await freshPage(browser, t);
  await checkEveryPage(page, 'signed out', ['/sign-in', '/no-such-page', '/sign-in/link?token=not-a-real-token']);
  // The page that says a link is on its way.
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('E-postadresse').fill('nobody@example.no');
    await page.getByRole('button', { name: 'Send meg en lenke' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sjekk e-posten din' }).waitFor();
    const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert.ok(scroll <= inner, `sign-in sent at ${viewport.width}: scrollWidth ${scroll} > ${inner}: ${await tooWide(page)}`);
    await expectNoAxeViolations(page);
  }
});

test('the facilitator: every page fits and passes axe', { timeout: ROLE_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, FACILITATOR);
  const { cohort, session, paths } = await cohortPaths(page);
  await page.goto(`${server.url}${cohort}/digests`);
  const previewForm = page.locator('main form[action$="/preview"]').first();
  const previewAction = await previewForm.getAttribute('action');
  const previewUser = await previewForm.locator('select option').first().getAttribute('value');
  await checkEveryPage(page, 'facilitator', [
    ...paths,
    `${cohort}/planning`,
    `${cohort}/digests`,
    `${previewAction}?user_id=${previewUser}`,
    `${cohort}/moderation`,
    '/admin',
    `/reports${session}`,
  ]);
});

test('screenshots of the cohort page, a session, a thread and Settings as the facilitator', { timeout: 120_000 }, async (t) => {
  const page = await signedInPage(browser, server, t, FACILITATOR);
  const { cohort, session, thread } = await cohortPaths(page);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const [name, pathname] of [
    ['cohort', cohort],
    ['session', session],
    ['thread', thread],
    // Settings, with «Slett kontoen min» and «Mine data».
    ['settings', '/settings'],
  ]) {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await page.goto(`${server.url}${pathname}`);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-${viewport.width}.png`), fullPage: true });
    }
  }
});

test('the admin: every administration page fits and passes axe', { timeout: ROLE_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, ADMIN);
  await page.goto(`${server.url}/admin`);
  const cohort = await firstLink(page, /^\/cohorts\/\d+$/, 'a cohort');
  const programme = await firstLink(page, /^\/admin\/programmes\/\d+$/, 'a programme');
  await page.goto(`${server.url}${cohort}`);
  const theme = await firstLink(page, /^\/themes\/\d+\/resources$/, 'the theme resources');
  await checkEveryPage(page, 'admin', [
    programme,
    programme.replace('/admin/programmes/', '/reports/programmes/'),
    theme.replace(/^\/themes\/(\d+)\/resources$/, '/reports/themes/$1'),
    `/reports${cohort}`,
    '/admin',
    '/admin/import',
    '/admin/review',
    '/admin/themes',
    '/admin/users',
    '/admin/audit',
    '/cohorts',
    cohort,
    '/settings',
  ]);
});

test('the project lead: every page fits and passes axe', { timeout: ROLE_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, PROJECT_LEAD);
  const { cohort, session, paths } = await cohortPaths(page);
  // The surveys: a form, its "not open yet" state or the refusal, each must fit.
  await checkEveryPage(page, 'project lead', [...paths, `${session}/survey`, `${cohort}/closing-survey`]);
});

test('the expert: every page fits and passes axe', { timeout: ROLE_TIMEOUT_MS }, async (t) => {
  const page = await signedInPage(browser, server, t, EXPERT);
  const { paths } = await cohortPaths(page);
  await checkEveryPage(page, 'expert', paths);
});

test('on a phone the header menu hides behind a button that opens by keyboard', { timeout: 120_000 }, async (t) => {
  const page = await signedInPage(browser, server, t, FACILITATOR);
  await page.setViewportSize(PHONE);
  await page.goto(`${server.url}/cohorts`);
  const nav = page.getByRole('navigation', { name: 'Hovedmeny' });
  const search = nav.getByRole('link', { name: 'Søk' });
  const toggle = page.getByRole('button', { name: 'Meny' });
  await assert.doesNotReject(toggle.waitFor({ state: 'visible' }), 'the menu button is visible at 390 px');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  const controls = await toggle.getAttribute('aria-controls');
  assert.ok(controls && (await page.locator(`#${controls}`).count()) === 1, 'aria-controls names the menu');
  assert.equal(await search.isVisible(), false, 'the links are folded away at 390 px');
  // The header is short: the page's heading is in the first screenful, high up.
  const headerHeight = await page.locator('header').evaluate((header) => header.getBoundingClientRect().height);
  assert.ok(headerHeight <= 844 / 8, `the folded header is ${headerHeight} px tall`);

  // By keyboard: Tab from the top of the page to the button, Enter opens it.
  let focused = false;
  for (let step = 0; step < 6 && !focused; step += 1) {
    await page.keyboard.press('Tab');
    focused = await toggle.evaluate((button) => button === document.activeElement);
  }
  assert.ok(focused, 'the menu button is reached by Tab');
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.ok(await search.isVisible(), 'the links show once the menu is open');
  await page.keyboard.press('Tab');
  assert.ok(
    await page.evaluate((id) => document.getElementById(id).contains(document.activeElement), controls),
    'the next Tab goes into the open menu',
  );
  await expectNoAxeViolations(page);
  // Escape closes it and gives the focus back to the button.
  await page.keyboard.press('Escape');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await search.isVisible(), false);
  assert.ok(await toggle.evaluate((button) => button === document.activeElement), 'focus back on the button');
  // Space opens it too.
  await page.keyboard.press('Space');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

  // On a laptop there is no button: the links are in the header.
  await page.setViewportSize(LAPTOP);
  await page.goto(`${server.url}/cohorts`);
  assert.equal(await toggle.isVisible(), false, 'no menu button at 1280 px');
  assert.ok(await search.isVisible(), 'the links show at 1280 px');
});

test('without JavaScript the header shows its links on a phone', { timeout: 120_000 }, async (t) => {
  // Sign in once with JavaScript (the cookies are reused), then open a page without it.
  await signedInPage(browser, server, t, FACILITATOR);
  const page = await signedInPage(browser, server, t, FACILITATOR, { javaScriptEnabled: false });
  await page.setViewportSize(PHONE);
  await page.goto(`${server.url}/cohorts`);
  const nav = page.getByRole('navigation', { name: 'Hovedmeny' });
  assert.ok(await nav.getByRole('link', { name: 'Søk' }).isVisible(), 'the links show without JavaScript');
  assert.equal(await page.getByRole('button', { name: 'Meny' }).count(), 0, 'no button that would do nothing');
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `scrollWidth ${scroll} > ${inner}`);
});
