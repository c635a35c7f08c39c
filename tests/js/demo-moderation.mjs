#!/usr/bin/env node
// Moderation on the demo page in a real browser (Debian's Chromium, playwright-core): a
// moderator (a site admin through the development login) and a fan, each in a browser
// context of their own. The fan's message deleted by the moderator leaves both windows; the
// fan deletes their own; the moderator times the fan out (the fan's send says `Timed out`),
// turns slow mode on (the fan's page says so), bans the fan (the fan's page stops), and
// unbans them (the fan joins again).
//
//   node demo-moderation.mjs --page 'http://localhost:8001/index.html?api=http://localhost:8000&show=1' \
//        [--chromium /usr/bin/chromium] [--screenshot ../../test-artifacts/demo-moderation.png]
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
// The page asks the moderation state once after login: a fan's answer is 403, which Chromium
// reports on the console. That one is expected; any other console error is a problem.
const EXPECTED_403 = `/api/shows/${SHOW}/moderation/state`;

const checks = new Checks();
const scenario = checks.scenario(`moderation on the demo page ${pageUrl.origin} -> API ${API}`);
const summary = { ids: {} };
watchdog(checks, 120_000, () => ({ page: PAGE, api: API, ...summary }));

let browser;
const people = [];

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 680 },
                                             locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const who = { name, username: `${name}_${RUN}`, page, problems: [] };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const expected = message.text().includes('status of 403')
      && (message.location()?.url || '').includes(EXPECTED_403);
    if (!expected) who.problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => who.problems.push(`page error: ${error.message}`));
  people.push(who);
  return who;
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
        + `error "${await textOf(who.page, '#chat-error')}", `
        + `notice "${await textOf(who.page, '#notice')}"`);
    });
}

async function login(who, { admin = false } = {}) {
  await who.page.goto(PAGE, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await who.page.locator('#username').fill(who.username);
  if (admin) await who.page.locator('#admin').check();
  await who.page.locator('#login-button').click();
  await until(who, () => document.querySelector('#status').dataset.state === 'connected'
    && document.querySelector('#me').textContent !== '', null, 'connecting after login');
}

/** Send a message and wait for its ack (the input empties): its id, from the page's state. */
async function send(who, text) {
  await who.page.locator('#message-input').fill(text);
  await who.page.locator('#message-input').press('Enter');
  await until(who, () => document.querySelector('#message-input').value === ''
    || document.querySelector('#chat-error').textContent !== '', null, `"${text}" acked`);
  return who.page.evaluate((body) => Array.from(window.demoChat.state.messages.values())
    .filter((m) => m.message === body).map((m) => m.id).pop() ?? null, text);
}

function message(who, id) {
  return who.page.locator(`#messages li.message[data-id="${id}"]`);
}

function shows(who, id, expected, what) {
  return until(who, ([messageId, on]) => Boolean(document.querySelector(
    `#messages li.message[data-id="${messageId}"]`)) === on, [id, expected],
  `${what} ${expected ? 'appearing' : 'disappearing'}`);
}

async function buttonsOn(who, id) {
  return message(who, id).locator('.actions button').evaluateAll(
    (buttons) => buttons.map((button) => button.dataset.action));
}

async function main() {
  let mod;
  let fan;
  await scenario.step('browser', 'Chromium starts headless (playwright-core)', async () => {
    browser = await chromium.launch({ executablePath: args.chromium, headless: true,
                                      args: CHROMIUM_FLAGS, timeout: 30_000 });
    mod = await person('mod');
    fan = await person('fan');
    summary.mod = mod.username;
    summary.fan = fan.username;
  });
  await scenario.step('login', 'the admin logs in: the page shows the moderation controls',
    async () => {
      await login(mod, { admin: true });
      await until(mod, () => !document.querySelector('#moderation').hidden, null,
        'the slow-mode selector showing');
      expectEqual(await mod.page.evaluate(() => window.demoChat.state.isModerator), true,
        'isModerator');
    });
  await scenario.step('login', 'the fan logs in: no moderation controls', async () => {
    await login(fan);
    await until(fan, () => window.demoChat.state.moderationChecked, null,
      'the moderation state being asked');
    expectEqual(await fan.page.locator('#moderation').isHidden(), true, 'selector hidden');
  });
  let spam;
  await scenario.step('delete', 'the fan sends: the fan may delete it, the moderator may also '
    + 'time out and ban', async () => {
    spam = await send(fan, `buy followers at spam.example ${RUN}`);
    expect(Number.isInteger(spam), `the fan's message id: ${spam}`);
    await shows(mod, spam, true, 'the fan\'s message on the moderator\'s page');
    expectEqual(await buttonsOn(fan, spam), ['delete'], 'the fan\'s buttons');
    expectEqual(await buttonsOn(mod, spam), ['delete', 'timeout', 'ban', 'ban-purge'],
      'the moderator\'s buttons');
    summary.ids.spam = spam;
  });
  await scenario.step('delete', 'the moderator deletes it: it leaves both windows', async () => {
    await message(mod, spam).locator('button[data-action="delete"]').click();
    await shows(mod, spam, false, 'the deleted message on the moderator\'s page');
    await shows(fan, spam, false, 'the deleted message on the fan\'s page');
  });
  let oops;
  await scenario.step('delete', 'the fan deletes their own message: it leaves both windows',
    async () => {
      oops = await send(fan, `oops, wrong chat ${RUN}`);
      await shows(mod, oops, true, 'the fan\'s second message on the moderator\'s page');
      await message(fan, oops).locator('button[data-action="delete"]').click();
      await shows(fan, oops, false, 'the fan\'s deleted message on the fan\'s page');
      await shows(mod, oops, false, 'the fan\'s deleted message on the moderator\'s page');
      summary.ids.oops = oops;
    });
  let rant;
  await scenario.step('timeout', 'the moderator times the fan out: the fan\'s send says Timed out',
    async () => {
      rant = await send(fan, `ALL CAPS RANT ${RUN}`);
      await shows(mod, rant, true, 'the rant on the moderator\'s page');
      await message(mod, rant).locator('button[data-action="timeout"]').click();
      await until(fan, () => document.querySelector('#notice').textContent
        .startsWith('You are timed out until'), null, 'the fan\'s time-out notice');
      await until(mod, (name) => document.querySelector('#activity').textContent
        .includes(`${name} timed out until`), fan.username, 'the moderator\'s activity line');
      await fan.page.locator('#message-input').fill('can I still talk?');
      await fan.page.locator('#message-input').press('Enter');
      await until(fan, () => /^Not sent \(Timed out.*\(retry in \d+ s\)\)$/
        .test(document.querySelector('#chat-error').textContent), null,
      'the fan\'s "Not sent (Timed out … retry in N s)" error');
      summary.ids.rant = rant;
    });
  await scenario.step('slow-mode', 'the moderator turns slow mode on: the fan\'s page says so',
    async () => {
      await mod.page.locator('#slow-mode').selectOption('30');
      await until(fan, () => document.querySelector('#notice').textContent
        === 'Slow mode: one message every 30 s', null, 'the fan\'s slow-mode notice');
      await until(mod, () => document.querySelector('#slow-mode').value === '30', null,
        'the moderator\'s selector at 30 s');
    });
  await scenario.step('ban', 'the moderator bans the fan: the fan\'s page says so and stops',
    async () => {
      await message(mod, rant).locator('button[data-action="ban"]').click();
      await until(fan, () => !document.querySelector('#login').hidden
        && document.querySelector('#login-error').textContent.includes('banned'), null,
      'the fan\'s page saying it was banned');
      expectEqual(await textOf(fan.page, '#status'), 'Disconnected', 'the fan\'s status');
      await until(mod, (name) => !Array.from(document.querySelectorAll('#active-users li'))
        .some((item) => item.firstChild.textContent.trim() === name), fan.username,
      'the fan leaving the moderator\'s active list');
      await until(mod, (name) => Array.from(document.querySelectorAll('#banned-users li'))
        .some((item) => item.firstChild.textContent === name), fan.username,
      'the fan listed under Banned on the moderator\'s page');
      if (args.screenshot) {
        mkdirSync(dirname(args.screenshot), { recursive: true });
        await mod.page.screenshot({ path: args.screenshot });
      }
    });
  await scenario.step('ban', 'the moderator unbans the fan: the fan can join again', async () => {
    await mod.page.locator('#banned-users button[data-action="unban"]').click();
    await until(mod, () => document.querySelector('#bans').hidden, null,
      'the Banned list emptying');
    await login(fan);
    await until(mod, (name) => Array.from(document.querySelectorAll('#active-users li'))
      .some((item) => item.firstChild.textContent.trim() === name), fan.username,
    'the fan back in the moderator\'s active list');
    expectEqual(await textOf(fan.page, '#chat-error'), '', 'the fan\'s error line');
  });
  await scenario.step('browser', 'no console errors or page errors', async () => {
    const problems = people.flatMap((who) => who.problems.map((p) => `${who.name}: ${p}`));
    expectEqual(problems, [], 'problems');
  });
}

log(`moderation on the demo page ${PAGE} (API ${API}, show ${SHOW}) in ${args.chromium}`);
try {
  await main();
} catch (error) {
  checks.record({ group: 'script', name: 'the script ran to the end', scenario: 'script',
                  ok: false, ms: 0, error: String(error?.stack ?? error) });
} finally {
  await browser?.close().catch(() => {});
}
checks.finish({ page: PAGE, api: API, show: SHOW, ...summary });
