// Shared helpers for Samling's browser tests: a throw-away server per test file, the CLI, the
// mail outbox (lettre's file transport), the system Chromium and axe-core's WCAG checks.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

/** This folder (tests/e2e), so paths do not depend on where `npm test` is started. */
export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The server binary: $SAMLING_BIN, or the one `cargo build -p samling` makes. */
export const SAMLING_BIN = process.env.SAMLING_BIN
  ? path.resolve(process.env.SAMLING_BIN)
  : path.resolve(E2E_DIR, '../../target/debug/samling');

/** The sample grant export that `serve --demo` imports. */
export const SAMPLE_CSV = path.resolve(E2E_DIR, '../../server/demo-data/klimasats-tildelinger-sample.csv');

/** WCAG 2.1 A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Per-test limit, so a stuck page or server fails the test instead of hanging the run. */
export const TEST_TIMEOUT_MS = 60_000;

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const CLI_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
// The deadline timers raced against a process's exit below are unref'd (`{ ref: false }`): a
// pending one must not keep the test process alive for its full length after the exit.

// Servers still running when the process ends (a crash or a killed run) are killed with it, so
// no test run leaves a server behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port that was free a moment ago: listen on port 0, note the number, close. */
async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The environment for the server and the CLI. Inherited `SAMLING_*` variables are dropped:
 * the settings read every one of them, and a developer's own (an SMTP host, a config file)
 * must not leak into the tests.
 */
function samlingEnv({ dir, port, outboxDir }) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SAMLING_')));
  return {
    ...env,
    SAMLING_DATABASE_URL: `sqlite://${dir}/samling.sqlite?mode=rwc`,
    SAMLING_BIND: `127.0.0.1:${port}`,
    SAMLING_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SAMLING_OUTBOX_DIR: outboxDir,
    // The browser tests read sign-in links from the outbox; digests would mix in with them.
    SAMLING_DIGEST_INTERVAL_SECONDS: '0',
    NO_COLOR: '1',
  };
}

/** Resolves when the child exits, with its code or signal. */
function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Starts `samling serve [--demo]` on a fresh SQLite database in a temporary folder and waits
 * until `/readyz` answers 200.
 * `env` is what the CLI needs to reach the same database (see `runCli`); `output()` gives what the
 * server printed so far. `stop()` ends it with SIGTERM (SIGKILL after 10 s) and removes the
 * folder, unless SAMLING_E2E_KEEP_TMP is set.
 * @returns {Promise<{url: string, outboxDir: string, dir: string, env: object, output: () => {stdout: string, stderr: string}, stop: () => Promise<void>}>}
 */
export async function startServer({ demo = false } = {}) {
  assert.ok(existsSync(SAMLING_BIN), `no server binary at ${SAMLING_BIN}: run \`cargo build -p samling\` or set SAMLING_BIN`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'samling-e2e-'));
  const outboxDir = path.join(dir, 'outbox');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = samlingEnv({ dir, port, outboxDir });

  const args = demo ? ['serve', '--demo'] : ['serve'];
  const child = spawn(SAMLING_BIN, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  // Both pipes are drained all the time: a full pipe would block the server.
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exit = exited(child).then((status) => {
    running.delete(child);
    return status;
  });
  let hasExited = false;
  exit.then(() => (hasExited = true));

  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exit.then(() => true), delay(STOP_TIMEOUT_MS, false, { ref: false })]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    if (!process.env.SAMLING_E2E_KEEP_TMP) await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited) {
      const { code, signal } = await exit;
      await stop();
      throw new Error(`samling ${args.join(' ')} exited (code ${code}, signal ${signal}) before it was ready:\n${stderr}${stdout}`);
    }
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`samling was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${stderr}${stdout}`);
    }
    await delay(POLL_MS);
  }
  return { url, outboxDir, dir, env, stop, output: () => ({ stdout, stderr }) };
}

/**
 * Runs the binary with the server's settings (same database, same public URL), e.g.
 * `runCli(['create-admin', 'admin@example.no'], server)`; returns its standard output.
 */
export async function runCli(args, server) {
  const child = spawn(SAMLING_BIN, args, { cwd: server.dir, env: server.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const result = await Promise.race([exited(child), delay(CLI_TIMEOUT_MS, null, { ref: false })]);
  if (result === null) {
    child.kill('SIGKILL');
    throw new Error(`samling ${args.join(' ')} did not finish within ${CLI_TIMEOUT_MS / 1000} s:\n${stderr}`);
  }
  if (result.code !== 0) {
    throw new Error(`samling ${args.join(' ')} failed (code ${result.code}, signal ${result.signal}):\n${stderr}${stdout}`);
  }
  return stdout;
}

/** Creates (or promotes) an admin with the CLI and returns the printed sign-in link. */
export async function adminSignInLink(server, email = 'admin@example.no') {
  const output = await runCli(['create-admin', email], server);
  const link = output
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith(`${server.url}/`));
  assert.ok(link, `create-admin printed no sign-in link:\n${output}`);
  return link;
}

// ---------------------------------------------------------------------------------------------
// The outbox. The mail files are read as latin1, so every character is one byte; decoded text
// is turned into UTF-8 only at the end.

const bytesToUtf8 = (binary) => Buffer.from(binary, 'latin1').toString('utf8');

function decodeQuotedPrintable(binary) {
  return bytesToUtf8(
    binary
      .replace(/=\r?\n/g, '') // soft line breaks
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
  );
}

function decodeBody(binary, transferEncoding = '') {
  switch (transferEncoding.trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(binary);
    case 'base64':
      return Buffer.from(binary.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return bytesToUtf8(binary);
  }
}

/** RFC 2047 encoded words (`=?utf-8?q?...?=`, `=?utf-8?b?...?=`), as in a non-ASCII subject. */
function decodeHeaderValue(value) {
  const decoded = value
    .replace(/\?=\s+=\?/g, '?==?') // whitespace between encoded words is not part of the text
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset, encoding, text) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('latin1')
        : text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, hex) => String.fromCharCode(parseInt(hex, 16))),
    );
  return bytesToUtf8(decoded);
}

/** Splits headers from body and unfolds the headers into a lower-cased name → value map. */
function parseEntity(binary) {
  const match = /\r?\n\r?\n/.exec(binary);
  const head = match ? binary.slice(0, match.index) : binary;
  const body = match ? binary.slice(match.index + match[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

/**
 * Parses one `.eml` file. `complete` is false while it is still being written (the closing
 * MIME boundary is not there yet).
 */
function parseMail(binary) {
  const { headers, body } = parseEntity(binary);
  const to = decodeHeaderValue(headers.to ?? '');
  const plain = plainPart(headers, body);
  if (!plain) return { complete: false, to };
  let text = decodeBody(plain.body, plain.headers['content-transfer-encoding']);
  text = text.replace(/\r\n/g, '\n');
  return {
    complete: true,
    to,
    subject: decodeHeaderValue(headers.subject ?? ''),
    text,
    links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
  };
}

/**
 * The text/plain part of an entity, looking inside nested multiparts (a reminder is
 * multipart/mixed: the text and HTML alternatives, then the calendar file). `null` while the
 * file is still being written (a closing boundary is missing).
 */
function plainPart(headers, body) {
  const contentType = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) {
    return /^text\/plain/i.test(contentType) ? { headers, body } : undefined;
  }
  if (!body.includes(`--${boundary}--`)) return null;
  const parts = body
    .split(`--${boundary}--`)[0]
    .split(`--${boundary}`)
    .slice(1)
    .map((part) => parseEntity(part.replace(/^\r?\n/, '')));
  for (const part of parts) {
    const found = plainPart(part.headers, part.body.replace(/\r?\n$/, ''));
    if (found === null) return null;
    if (found) return found;
  }
  assert.fail(`mail has no text/plain part: ${contentType}`);
}

/**
 * The newest mail in the outbox to `address` (written at or after `since`, a `Date.now()`
 * value) that `matching` accepts, waiting up to `timeoutMs` for it to appear.
 * @returns {Promise<{subject: string, text: string, links: string[], to: string, file: string}>}
 */
export async function latestMailTo(outboxDir, address, { since = 0, timeoutMs = 5_000, matching = () => true } = {}) {
  const wanted = address.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = existsSync(outboxDir) ? (await readdir(outboxDir)).filter((name) => name.endsWith('.eml')) : [];
    const files = await Promise.all(
      names.map(async (name) => {
        const file = path.join(outboxDir, name);
        return { file, mtime: (await stat(file)).mtimeMs };
      }),
    );
    // File times come from a coarser clock than Date.now() on some file systems: allow 1 s.
    const candidates = files.filter(({ mtime }) => mtime >= since - 1_000).sort((a, b) => b.mtime - a.mtime);
    for (const { file } of candidates) {
      const { complete, ...mail } = parseMail(await readFile(file, 'latin1'));
      if (!mail.to.toLowerCase().includes(wanted)) continue;
      if (!complete) break; // the newest one is still being written: look again
      if (matching(mail)) return { ...mail, file };
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${address} in ${outboxDir} within ${timeoutMs / 1000} s (${names.length} mails there)`);
    }
    await delay(POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// The browser.

/** Debian's Chromium, headless; playwright-core downloads no browser of its own. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser context (own cookies), in Norwegian like the app's default. */
export async function newContext(browser) {
  const context = await browser.newContext({ locale: 'nb-NO' });
  // Well below the test timeout, so a missing element fails with Playwright's own message.
  context.setDefaultTimeout(15_000);
  return context;
}

/** A page in a context of its own (no cookies shared with other tests), closed after test `t`. */
export async function freshPage(browser, t) {
  const context = await newContext(browser);
  t.after(() => context.close());
  return context.newPage();
}

/** Runs axe-core with WCAG 2.1 A/AA rules and fails with a readable list of violations. */
export async function expectNoAxeViolations(page) {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const summary = violations
    .map((violation) => {
      const nodes = violation.nodes
        .map((node) => `    - ${node.target.join(' ')}\n      ${node.failureSummary?.replace(/\n/g, '\n      ') ?? ''}`)
        .join('\n');
      return `  ${violation.id} [${violation.impact}]: ${violation.help}\n    ${violation.helpUrl}\n${nodes}`;
    })
    .join('\n');
  assert.equal(violations.length, 0, `axe found ${violations.length} WCAG violation(s) on ${page.url()}:\n${summary}`);
}

// ---------------------------------------------------------------------------------------------
// Forms and signing in.

/** The visible text of an HTML document's <h1> and <main>, for failure messages. */
function pageSummary(html) {
  const text = (pattern) =>
    (pattern.exec(html)?.[1] ?? '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
  return { heading: text(/<h1[^>]*>([\s\S]*?)<\/h1>/), main: text(/<main[^>]*>([\s\S]*?)<\/main>/).slice(0, 300) };
}

/**
 * Clicks a form's submit button and checks the HTTP status the form's POST answers with (303
 * for a redirect). A wrong status fails right here, with what the server's page said, instead
 * of as a time-out while waiting for something on the next page.
 */
export async function submitForm(page, button, expectedStatus) {
  const answered = page.waitForResponse((response) => {
    const request = response.request();
    return request.method() === 'POST' && request.isNavigationRequest() && request.frame() === page.mainFrame();
  });
  await button.click();
  const response = await answered;
  if (response.status() !== expectedStatus) {
    const { heading, main } = pageSummary(await response.text().catch(() => ''));
    assert.fail(
      `POST ${new URL(response.url()).pathname} answered ${response.status()} "${heading}", ` +
        `expected ${expectedStatus}. The page said: ${main}`,
    );
  }
  return response;
}

/**
 * Opens an e-mailed or printed sign-in link and presses its confirm button ("Logg inn"). An
 * admin lands on the administration, everyone else on their cohorts, or where the link leads
 * (an appointed facilitator's link leads to their cohort).
 */
export async function confirmSignInLink(page, link) {
  await page.goto(link);
  await submitForm(page, page.getByRole('button', { name: 'Logg inn', exact: true }), 303);
  await page.waitForURL((url) => /^\/(cohorts|admin)(\/\d+)?$/.test(url.pathname));
}

/** Each person's cookies after their first sign-in, per server: the server limits sign-ins per address. */
const signedInStates = new Map();

/**
 * A page signed in as `email` in a context of its own, closed after test `t`; the first call
 * per person signs in by mail, later ones reuse the cookies. `javaScriptEnabled: false` gives
 * the no-JS fallback.
 */
export async function signedInPage(browser, server, t, email, { javaScriptEnabled = true } = {}) {
  const key = `${server.url} ${email}`;
  const context = await browser.newContext({
    locale: 'nb-NO',
    javaScriptEnabled,
    storageState: signedInStates.get(key),
  });
  context.setDefaultTimeout(15_000);
  t.after(() => context.close());
  const page = await context.newPage();
  if (!signedInStates.has(key)) {
    await signInByMail(page, server, email);
    signedInStates.set(key, await context.storageState());
  }
  return page;
}

/** Asks for a sign-in link on /sign-in, takes it from the outbox and uses it. */
export async function signInByMail(page, server, email) {
  const since = Date.now();
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel('E-postadresse').fill(email);
  await submitForm(page, page.getByRole('button', { name: 'Send meg en lenke' }), 200);
  await page.getByRole('heading', { level: 1, name: 'Sjekk e-posten din' }).waitFor();
  // A digest may go to the same person at the same moment (the demo sends its digests at once).
  const mail = await latestMailTo(server.outboxDir, email, {
    since,
    matching: (candidate) => candidate.links.some((link) => link.includes('/sign-in/link?token=')),
  });
  assert.equal(mail.links.length, 1, `expected one link in the sign-in mail:\n${mail.text}`);
  await confirmSignInLink(page, mail.links[0]);
  return mail;
}
