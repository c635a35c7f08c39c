#!/usr/bin/env node
// The demo chat page in a real browser: Debian's Chromium driven by playwright-core.
// Two browser contexts (two people, two cookie jars) open the page, log in through
// POST /api/dev/login (the cookie is set for the API's origin), then exchange messages
// and typing both ways; each must see the other's messages, typing indicator and presence.
//
//   node demo-chat.mjs --page 'http://localhost:8001/index.html?api=http://localhost:8000&show=1' \
//        [--chromium /usr/bin/chromium] [--screenshot ../../test-artifacts/demo-chat.png]
//
// Prints a JSON summary of the checks on stdout; exits 1 when any check failed.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

import { Checks, TIMEOUT_MS, expect, expectEqual, log, watchdog } from './lib/harness.mjs';

const { values: args } = parseArgs({
  options: {
    page: { type: 'string', default: process.env.DEMO_PAGE || 'http://localhost:8000/demo/' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    screenshot: { type: 'string', default: '' },
    'cookie-name': { type: 'string', default: 'access_token_cookie' },
  },
});
const PAGE = args.page;
const pageUrl = new URL(PAGE);
const API = (pageUrl.searchParams.get('api') || pageUrl.origin).replace(/\/+$/, '');
const SHOW = Number.parseInt(pageUrl.searchParams.get('show') || '1', 10);
const RUN = randomBytes(3).toString('hex');
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const TYPING_IDLE_MS = 2000; // the page stops "typing" 2 s after the last keystroke

const checks = new Checks();
const scenario = checks.scenario(`demo page ${pageUrl.origin} -> API ${API}, show ${SHOW}`);
const screenshots = [];
watchdog(checks, 120_000, () => ({ page: PAGE, api: API }));

let browser;
let browserVersion = null;
const people = [];

/** One person: a browser context of their own (own cookies), one tab of the demo page. */
async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 680 },
                                             locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const who = { name, username: `${name}_${RUN}`, context, page, problems: [] };
  page.on('console', (message) => {
    if (message.type() !== 'error' || askedModeration(message)) return;
    who.problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => who.problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    who.problems.push(`request failed: ${request.method()} ${request.url()} `
      + `(${request.failure()?.errorText})`);
  });
  people.push(who);
  return who;
}

/** The page asks the moderation state once after login; a fan's answer is 403, which
 * Chromium reports on the console: expected (docs/moderation.md, "The demo page"). */
function askedModeration(message) {
  return message.text().includes('status of 403')
    && (message.location()?.url || '').includes(`/api/shows/${SHOW}/moderation/state`);
}

async function textOf(page, selector) {
  return (await page.locator(selector).textContent())?.trim() ?? '';
}

/** Wait (bounded) until `fn(arg)` is truthy in the page. */
function until(who, fn, arg, what) {
  return who.page.waitForFunction(fn, arg, { timeout: TIMEOUT_MS, polling: 'raf' })
    .catch(async (error) => {
      throw new Error(`${who.name}'s page: ${what} did not happen within ${TIMEOUT_MS} ms `
        + `(${error.message.split('\n')[0]}); status "${await textOf(who.page, '#status')}", `
        + `typing "${await textOf(who.page, '#typing')}", `
        + `users [${await who.page.locator('#active-users li').allTextContents()}], `
        + `error "${await textOf(who.page, '#chat-error')}"`);
    });
}

function activeUsers(page) {
  return page.locator('#active-users li').evaluateAll(
    (items) => items.map((item) => item.firstChild.textContent.trim()));
}

async function login(who) {
  await who.page.goto(PAGE, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await who.page.locator('#username').fill(who.username);
  await who.page.locator('#login-button').click();
  await until(who, () => document.querySelector('#status').dataset.state === 'connected'
    && document.querySelector('#me').textContent !== '', null, 'connecting after login');
}

async function typeWithoutSending(who, text) {
  await who.page.locator('#message-input').pressSequentially(text, { delay: 15 });
}

async function sendMessage(who, text) {
  await who.page.locator('#message-input').fill(text);
  await who.page.locator('#message-input').press('Enter');
}

function showsMessage(who, from, text) {
  return until(who, ([user, body]) => Array.from(document.querySelectorAll('#messages li.message'))
    .some((item) => item.querySelector('.username').textContent === user
      && item.querySelector('.text').textContent === body), [from, text],
  `the message "${text}" from ${from} appearing`);
}

function showsTyping(who, typist, expected) {
  return until(who, ([name, on]) => {
    const users = (document.querySelector('#typing').dataset.users || '').split(',');
    return users.includes(name) === on;
  }, [typist.username, expected], `${typist.username}'s typing indicator turning `
    + `${expected ? 'on' : 'off'}`);
}

async function messageIds(who) {
  return who.page.locator('#messages li.message').evaluateAll(
    (items) => items.map((item) => Number(item.dataset.id)));
}

async function screenshot(who, path) {
  mkdirSync(dirname(path), { recursive: true });
  await who.page.screenshot({ path, fullPage: false });
  screenshots.push(path);
  log(`     screenshot of ${who.name}'s page: ${path}`);
}

async function main() {
  let alice;
  let bob;
  await scenario.step('browser', 'Chromium starts headless (playwright-core)', async () => {
    browser = await chromium.launch({ executablePath: args.chromium, headless: true,
                                      args: CHROMIUM_FLAGS, timeout: 30_000 });
    browserVersion = browser.version();
    alice = await person('alice');
    bob = await person('bob');
  });
  await scenario.step('login', 'alice logs in: the cookie is set for the API and the socket connects',
    async () => {
      await login(alice);
      const cookies = await alice.context.cookies(API);
      const cookie = cookies.find((c) => c.name === args['cookie-name']);
      expect(cookie, () => `no ${args['cookie-name']} cookie for ${API}: ${JSON.stringify(cookies)}`);
      expectEqual([cookie.httpOnly, cookie.sameSite, cookie.path], [true, 'Lax', '/'],
        'cookie httpOnly, sameSite, path');
      const transport = await alice.page.evaluate(() => window.demoChat.transport());
      expectEqual(transport, 'websocket', 'transport');
      expectEqual(await textOf(alice.page, '#me'), alice.username, 'signed in as');
    });
  await scenario.step('login', 'bob logs in from his own browser context', async () => {
    await login(bob);
    expectEqual(await textOf(bob.page, '#me'), bob.username, 'signed in as');
  });
  await scenario.step('presence', 'both pages list both users as active', async () => {
    for (const who of [alice, bob]) {
      await until(who, (names) => {
        const shown = Array.from(document.querySelectorAll('#active-users li'))
          .map((item) => item.firstChild.textContent.trim());
        return names.every((name) => shown.includes(name));
      }, [alice.username, bob.username], 'both users in the active list');
      const listed = await activeUsers(who.page);
      expect(listed.includes(alice.username) && listed.includes(bob.username),
        () => `${who.name} lists ${listed}`);
      expectEqual(Number(await textOf(who.page, '#active-count')), listed.length, 'the count');
    }
  });
  const aliceText = 'Hey! Is anyone else here for the opener?';
  await scenario.step('typing', 'alice types: bob sees "alice is typing…", alice sees no indicator',
    async () => {
      await typeWithoutSending(alice, aliceText);
      await showsTyping(bob, alice, true);
      const line = await textOf(bob.page, '#typing');
      expect(line.includes(`${alice.username} is typing`), `bob's typing line: "${line}"`);
      expectEqual(await textOf(alice.page, '#typing'), '', 'alice\'s own typing line');
    });
  await scenario.step('messages', 'alice sends: both pages show her message once; bob\'s indicator clears',
    async () => {
      await alice.page.locator('#message-input').press('Enter');
      await showsMessage(bob, alice.username, aliceText);
      await showsMessage(alice, alice.username, aliceText);
      await showsTyping(bob, alice, false);
      expectEqual(await alice.page.locator('#message-input').inputValue(), '', 'alice\'s input');
      for (const who of [alice, bob]) {
        const ids = await messageIds(who);
        expectEqual(ids.length, new Set(ids).size, `${who.name}'s message ids are unique`);
      }
    });
  const bobText = 'Front row! The <em>sound</em> is great & loud';
  await scenario.step('typing', 'bob types and pauses: alice sees him typing, then not, about 2 s later',
    async () => {
      await typeWithoutSending(bob, bobText);
      await showsTyping(alice, bob, true);
      const started = Date.now();
      await showsTyping(alice, bob, false);
      const idle = Date.now() - started;
      expect(idle >= TYPING_IDLE_MS - 700, `the indicator stopped after ${idle} ms of idling, `
        + `expected about ${TYPING_IDLE_MS} ms`);
    });
  await scenario.step('messages', 'bob sends: both pages show it, as text (no HTML injection)',
    async () => {
      await bob.page.locator('#send').click();
      await showsMessage(alice, bob.username, bobText);
      await showsMessage(bob, bob.username, bobText);
      expectEqual(await alice.page.locator('#messages em').count(), 0, 'elements made from text');
    });
  await scenario.step('messages', 'history then live: a late tab gets the earlier messages in order',
    async () => {
      // A second tab of bob's (same cookies): presence lists bob once; history shows both.
      const tab = await bob.context.newPage();
      const late = { ...bob, name: 'bob (second tab)', page: tab };
      await tab.goto(PAGE, { waitUntil: 'load', timeout: TIMEOUT_MS });
      await tab.locator('#username').fill(bob.username);
      await tab.locator('#login-button').click();
      await showsMessage(late, alice.username, aliceText);
      await showsMessage(late, bob.username, bobText);
      const texts = await tab.locator('#messages li.message .text').allTextContents();
      expect(texts.indexOf(aliceText) < texts.indexOf(bobText), () => `order: ${texts}`);
      const listed = await activeUsers(tab);
      expectEqual(listed.filter((name) => name === bob.username).length, 1, 'bob listed once');
      await tab.close();
    });
  const replyText = 'See you at the merch stand after the show';
  await scenario.step('messages', 'alice replies while bob types: the screenshot moment', async () => {
    await sendMessage(alice, replyText);
    await showsMessage(bob, alice.username, replyText);
    await typeWithoutSending(alice, 'Which song is next');
    await showsTyping(bob, alice, true);
    await typeWithoutSending(bob, 'Setlist says');
    await showsTyping(alice, bob, true);
    if (args.screenshot) {
      await screenshot(bob, args.screenshot);
      await screenshot(alice, args.screenshot.replace(/\.png$/, '-alice.png'));
    }
  });
  const duringDrop = 'Which song is next? (sent while bob reconnects)';
  await scenario.step('reconnect',
    'bob\'s connection drops: his page reconnects, rejoins and shows what was sent, once',
    async () => {
      const before = (await messageIds(bob)).length;
      await bob.page.evaluate(() => {
        const status = document.querySelector('#status');
        window.statusLog = [];
        new MutationObserver(() => window.statusLog.push(status.dataset.state))
          .observe(status, { attributes: true, attributeFilter: ['data-state'] });
        window.demoChat.socket().io.engine.close(); // the transport closes under the client
      });
      await sendMessage(alice, duringDrop); // the client waits >= 0.5 s before reconnecting
      await showsMessage(alice, alice.username, duringDrop);
      await showsMessage(bob, alice.username, duringDrop);
      await until(bob, () => document.querySelector('#status').dataset.state === 'connected',
        null, 'bob\'s page being connected again');
      const log = await bob.page.evaluate(() => window.statusLog);
      expect(log.includes('reconnecting') && log.at(-1) === 'connected',
        `bob's status went ${log.join(' -> ')}`);
      const ids = await messageIds(bob);
      expectEqual(ids.length, new Set(ids).size, 'bob\'s message ids are unique');
      expectEqual(ids.length, before + 1, 'messages on bob\'s page');
      await until(alice, (name) => Array.from(document.querySelectorAll('#active-users li'))
        .some((item) => item.firstChild.textContent.trim() === name), bob.username,
      'bob listed again on alice\'s page');
    });
  await scenario.step('presence', 'bob leaves: alice\'s page drops him from the active users',
    async () => {
      await bob.page.locator('#leave').click();
      await until(alice, (name) => !Array.from(document.querySelectorAll('#active-users li'))
        .some((item) => item.firstChild.textContent.trim() === name), bob.username,
      'bob leaving the active list');
      expect((await alice.page.locator('#activity').textContent()).includes(`${bob.username} left`),
        'alice\'s activity line says bob left');
      expectEqual(await bob.page.locator('#login').isVisible(), true, 'bob is back at the login');
    });
  await scenario.step('browser', 'no console errors, page errors or failed requests', async () => {
    const problems = people.flatMap((who) => who.problems.map((p) => `${who.name}: ${p}`));
    expectEqual(problems, [], 'problems');
  });
}

log(`demo page ${PAGE} (API ${API}, show ${SHOW}) in ${args.chromium}`);
try {
  await main();
} catch (error) {
  checks.record({ group: 'script', name: 'the script ran to the end', scenario: 'script',
                  ok: false, ms: 0, error: String(error?.stack ?? error) });
} finally {
  await browser?.close().catch(() => {});
}
checks.finish({ page: PAGE, api: API, show: SHOW, screenshots,
                browser: browserVersion });
