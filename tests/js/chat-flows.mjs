#!/usr/bin/env node
// The product document's client flows, run with the real socket.io-client against a live
// sharemyshows-rt server in development mode (users log in through POST /api/dev/login).
//
//   node chat-flows.mjs --api http://127.0.0.1:8000 [--show 1 ...] [--seeded JSON]
//
// --show      show ids to chat in (repeat; default 1). Each scenario takes the next one,
//             cycling, so fresh shows keep scenarios apart; one show works too.
// --seeded    {"<show_id>": [{"id", "user_id", "username", "message"}, ...]}: the whole
//             history a first join of that show must return (messages seeded beforehand).
//
// For each transport set (['websocket', 'polling'] and ['polling']): connect with the cookie
// and with auth {token}; join (message_history, then active_users); history content; send
// (new_message to everyone, the sender included; acks); typing (the other user only);
// get_active_users; leave (user_left); then a dropped connection, socket.io-client's own
// reconnection and a rejoin resuming after the last message seen, while another user
// keeps sending: nothing lost, nothing twice.
//
// Prints a JSON summary of the checks on stdout; exits 1 when any check failed.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Checks, TIMEOUT_MS, expect, expectEqual, fail, log, watchdog, within }
  from './lib/harness.mjs';
import { RecordingClient, dropConnection } from './lib/recorder.mjs';

const TRANSPORT_SETS = [
  { label: 'websocket+polling', transports: ['websocket', 'polling'], expected: 'websocket' },
  { label: 'polling', transports: ['polling'], expected: 'polling' },
];
const RECONNECT_DELAY_MS = 500; // the client's own reconnection delay (no randomization)
const SEND_EVERY_MS = 200; // the other user's cadence: 5 a second, the default send rate
const MAX_SENDS = 120;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const MESSAGE_FIELDS = ['id', 'show_id', 'user_id', 'username', 'message', 'created_at'];

const { values: args } = parseArgs({
  options: {
    api: { type: 'string', default: process.env.SMS_API || 'http://localhost:8000' },
    show: { type: 'string', multiple: true, default: [] },
    seeded: { type: 'string', default: process.env.SMS_SEEDED || '{}' },
    'cookie-name': { type: 'string', default: 'access_token_cookie' },
  },
});
const API = args.api.replace(/\/+$/, '');
const SHOWS = (args.show.length ? args.show : (process.env.SMS_SHOWS || '1').split(','))
  .map((id) => Number.parseInt(id, 10));
const SEEDED = JSON.parse(args.seeded);
const COOKIE = args['cookie-name'];
const RUN = randomBytes(3).toString('hex');

const checks = new Checks();
const opened = [];
const reconnects = []; // what each dropped connection looked like, for the summary
let nextShow = 0;
watchdog(checks, 120_000, () => ({ api: API, shows: SHOWS }));

function takeShow() {
  return SHOWS[nextShow++ % SHOWS.length];
}

// ------------------------------------------------------------------------- helpers

async function devLogin(username) {
  let response;
  try {
    response = await fetch(`${API}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    fail(`POST ${API}/api/dev/login failed: ${error.message}`);
  }
  if (!response.ok) {
    fail(`POST /api/dev/login answered ${response.status}: ${await response.text()}`);
  }
  const body = await response.json();
  const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  expect(setCookie, () => `POST /api/dev/login set no ${COOKIE} cookie; `
    + `Set-Cookie: ${JSON.stringify(response.headers.getSetCookie())}`);
  return { ...body, setCookie, cookie: setCookie.split(';')[0] };
}

function client(user, via, set, options = {}) {
  const made = new RecordingClient(API, user, { via, transports: set.transports, ...options });
  opened.push(made);
  return made;
}

async function connectAndGreet(made, set) {
  const after = made.cursor;
  await made.open();
  const { data } = await made.waitFor('connected', { after });
  expectEqual(data.message, 'Connected to ShareMyShows', 'connected.message');
  expectEqual([data.username, data.user_id], [made.user.username, made.user.user_id],
    'connected names the user');
  expectEqual(made.transport, set.expected, 'transport in use');
  return data;
}

function checkMessageShape(message, showId) {
  for (const field of MESSAGE_FIELDS) {
    expect(field in message, () => `message ${JSON.stringify(message)} has no ${field}`);
  }
  expect(Number.isInteger(message.id) && message.id > 0, `message id ${message.id}`);
  expectEqual(message.show_id, showId, `show_id of message ${message.id}`);
  expect(typeof message.username === 'string' && typeof message.message === 'string',
    () => `username/message of ${JSON.stringify(message)} are strings`);
  expect(ISO_UTC.test(message.created_at),
    () => `created_at ${message.created_at} is ISO 8601 in UTC with Z`);
}

function ids(messages) {
  return messages.map((message) => message.id);
}

function userIds(activeUsers) {
  return [...new Set(activeUsers.map((user) => user.user_id))].sort((a, b) => a - b);
}

function sorted(...groups) {
  return [...new Set(groups.flat())].sort((a, b) => a - b);
}

async function join(made, showId, extra = {}) {
  const after = made.cursor;
  const ack = await made.call('join_show', { show_id: showId, ...extra });
  expect(ack?.ok === true, () => `join_show ack: ${JSON.stringify(ack)}`);
  expectEqual(ack.show_id, showId, 'join_show ack show_id');
  const history = await made.waitFor('message_history', { after });
  const active = await made.waitFor('active_users', { after });
  expect(history.index < active.index,
    () => `message_history (#${history.index}) came before active_users (#${active.index})`);
  expect(Array.isArray(history.data.messages) && typeof history.data.has_more === 'boolean',
    () => `message_history body: ${JSON.stringify(history.data)}`);
  expectEqual(active.data.show_id, showId, 'active_users.show_id');
  expect(active.data.active_users.some((user) => user.user_id === made.user.user_id),
    () => `active_users lists the joiner: ${JSON.stringify(active.data)}`);
  made.shows.add(showId);
  return { ack, history: history.data, active: active.data };
}

async function send(made, showId, text, clientMsgId) {
  const payload = { show_id: showId, message: text };
  if (clientMsgId) payload.client_msg_id = clientMsgId;
  const ack = await made.call('send_message', payload);
  expect(ack?.ok === true, () => `send_message ack: ${JSON.stringify(ack)}`);
  checkMessageShape(ack.message, showId);
  expectEqual([ack.message.message, ack.message.user_id], [text, made.user.user_id],
    'the acknowledged message');
  return ack.message;
}

async function receives(made, message, after) {
  const { data } = await made.waitFor('new_message', { after, test: (m) => m.id === message.id });
  expectEqual(data, message, `${made.label}'s new_message ${message.id}`);
}

/** Proof that nothing more is on its way to `made`: an answered event on the same
 * connection, which the server handles after everything it sent that connection before. */
async function barrier(made, showId) {
  const ack = await made.call('get_active_users', { show_id: showId });
  expect(ack?.ok === true, () => `get_active_users ack: ${JSON.stringify(ack)}`);
}

async function typingReachesOnlyTheOther(typist, other, showId) {
  for (const isTyping of [true, false]) {
    const typistAfter = typist.cursor;
    const otherAfter = other.cursor;
    const ack = await typist.call('typing', { show_id: showId, is_typing: isTyping });
    expect(ack?.ok === true && ack.dropped === false, () => `typing ack: ${JSON.stringify(ack)}`);
    const { data } = await other.waitFor('user_typing', {
      after: otherAfter, test: (d) => d.is_typing === isTyping });
    expectEqual(data, { show_id: showId, user_id: typist.user.user_id,
                        username: typist.user.username, is_typing: isTyping },
      `user_typing (is_typing ${isTyping})`);
    // The typist's ack came after anything the server sent the typist for this event.
    expectEqual(typist.received('user_typing', typistAfter).length, 0,
      `user_typing events the typist got about itself`);
  }
}

// ------------------------------------------------------------------------- scenarios

async function setup() {
  const scenario = checks.scenario('setup');
  await scenario.step('connect', 'dev login sets the HttpOnly, SameSite=Lax access-token cookie',
    async () => {
      const user = await devLogin(`js${RUN}_probe`);
      const attributes = user.setCookie.toLowerCase();
      for (const attribute of ['httponly', 'samesite=lax', 'path=/']) {
        expect(attributes.includes(attribute), () => `Set-Cookie lacks ${attribute}: ${user.setCookie}`);
      }
      expect(typeof user.token === 'string' && Number.isInteger(user.user_id),
        () => `login body: ${JSON.stringify(user)}`);
    });
}

async function chatScenario(set) {
  const showId = takeShow();
  const tag = set.label === 'polling' ? 'p' : 'w';
  const scenario = checks.scenario(`${set.label} show ${showId}`);
  let alice;
  let bob;
  let aliceUser;
  let bobUser;
  const sent = [];

  await scenario.step('connect', 'alice and bob log in', async () => {
    aliceUser = await devLogin(`js${RUN}_alice_${tag}`);
    bobUser = await devLogin(`js${RUN}_bob_${tag}`);
  });
  await scenario.step('connect', `alice connects with the cookie over ${set.expected}`, async () => {
    alice = client(aliceUser, 'cookie', set);
    await connectAndGreet(alice, set);
  });
  await scenario.step('connect', `bob connects with auth {token} over ${set.expected}`, async () => {
    bob = client(bobUser, 'auth', set);
    await connectAndGreet(bob, set);
  });
  await scenario.step('connect', 'a client without credentials is refused: connect_error Unauthorized',
    async () => {
      const stranger = client({ username: 'nobody', user_id: 0 }, 'none', set);
      const after = stranger.cursor;
      stranger.socket.connect();
      const { data } = await stranger.waitFor('connect_error', { after });
      expectEqual(data.message, 'Unauthorized', 'connect_error message');
      expectEqual(stranger.received('connect', after).length, 0, 'connect events');
      await stranger.close();
    });
  await scenario.step('send', 'send_message before join_show: failed ack and an error event',
    async () => {
      const after = bob.cursor;
      const ack = await bob.call('send_message', { show_id: showId, message: 'too early' });
      expectEqual([ack?.ok, ack?.error?.message], [false, 'Not in show chat room'], 'the ack');
      const { data } = await bob.waitFor('error', { after });
      expectEqual([data.message, data.event], ['Not in show chat room', 'send_message'],
        'the error event');
    });
  let aliceJoin;
  let others = []; // users already in the show (none in a fresh show)
  await scenario.step('join', 'alice joins: message_history, then active_users, then the ack',
    async () => {
      aliceJoin = await join(alice, showId);
      others = userIds(aliceJoin.active.active_users).filter((id) => id !== aliceUser.user_id);
    });
  if (SEEDED[showId]) {
    await scenario.step('history', 'the first join\'s history is the seeded messages, oldest first',
      async () => {
        const expected = SEEDED[showId];
        const got = aliceJoin.history.messages.map(
          ({ id, user_id: uid, username, message }) => ({ id, user_id: uid, username, message }));
        expectEqual(got, expected, 'message_history');
        aliceJoin.history.messages.forEach((message) => checkMessageShape(message, showId));
      });
  }
  await scenario.step('send', 'alice\'s messages come back to her as new_message, matching the ack',
    async () => {
      for (const [index, text] of ['Doors just opened', 'The opener is on'].entries()) {
        const after = alice.cursor;
        const message = await send(alice, showId, `${text} (${set.label})`,
          index === 1 ? `js${RUN}-${tag}-1` : undefined);
        await receives(alice, message, after);
        sent.push(message);
      }
    });
  await scenario.step('join', 'bob joins: his history then active_users; alice gets user_joined',
    async () => {
      const aliceAfter = alice.cursor;
      const { history, active } = await join(bob, showId);
      const everyone = sorted(others, [aliceUser.user_id, bobUser.user_id]);
      expectEqual([userIds(active.active_users), active.count], [everyone, everyone.length],
        'active users and count');
      const { data } = await alice.waitFor('user_joined', {
        after: aliceAfter, test: (d) => d.user_id === bobUser.user_id });
      expectEqual(data.username, bobUser.username, 'user_joined.username');
      expect(data.active_users.some((user) => user.user_id === bobUser.user_id),
        () => `user_joined.active_users lists bob: ${JSON.stringify(data)}`);
      bob.joinHistory = history;
    });
  await scenario.step('history', 'bob\'s history ends with alice\'s messages, in order, as acked',
    async () => {
      const messages = bob.joinHistory.messages;
      messages.forEach((message) => checkMessageShape(message, showId));
      const order = ids(messages);
      expect(order.every((id, i) => i === 0 || order[i - 1] < id),
        () => `history ids ascend: ${order}`);
      expectEqual(messages.slice(-sent.length), sent, 'the newest messages of the history');
    });
  await scenario.step('send', 'bob\'s message reaches everyone in the room, the sender included',
    async () => {
      const aliceAfter = alice.cursor;
      const bobAfter = bob.cursor;
      const message = await send(bob, showId, `Great set (${set.label})`);
      await receives(bob, message, bobAfter);
      await receives(alice, message, aliceAfter);
      sent.push(message);
    });
  await scenario.step('typing', 'alice typing (true, then false) reaches bob and not alice',
    () => typingReachesOnlyTheOther(alice, bob, showId));
  await scenario.step('typing', 'bob typing (true, then false) reaches alice and not bob',
    () => typingReachesOnlyTheOther(bob, alice, showId));
  await scenario.step('active_users', 'get_active_users: both users, the count, and the ack',
    async () => {
      const after = bob.cursor;
      const ack = await bob.call('get_active_users', { show_id: showId });
      expect(ack?.ok === true, () => `get_active_users ack: ${JSON.stringify(ack)}`);
      const { data } = await bob.waitFor('active_users', { after });
      const everyone = sorted(others, [aliceUser.user_id, bobUser.user_id]);
      expectEqual([data.show_id, data.count, userIds(data.active_users)],
        [showId, everyone.length, everyone], 'active_users event');
      expectEqual([ack.count, userIds(ack.active_users)], [everyone.length, everyone], 'ack');
      expect(data.active_users.every((user) => typeof user.sid === 'string' && user.username),
        () => `each active user has a username and a sid: ${JSON.stringify(data.active_users)}`);
    });
  await scenario.step('leave', 'bob leaves: an ack, and alice gets user_left without bob',
    async () => {
      const aliceAfter = alice.cursor;
      const ack = await bob.call('leave_show', { show_id: showId });
      expectEqual([ack?.ok, ack?.show_id], [true, showId], 'leave_show ack');
      bob.shows.delete(showId);
      const { data } = await alice.waitFor('user_left', {
        after: aliceAfter, test: (d) => d.user_id === bobUser.user_id });
      const remaining = sorted(others, [aliceUser.user_id]);
      expectEqual([data.username, data.count, userIds(data.active_users)],
        [bobUser.username, remaining.length, remaining], 'user_left');
    });
  await scenario.step('leave', 'after leaving, bob gets none of the show\'s messages', async () => {
    const bobAfter = bob.cursor;
    const aliceAfter = alice.cursor;
    const message = await send(alice, showId, `Encore! (${set.label})`);
    await receives(alice, message, aliceAfter);
    await barrier(bob, showId);
    expectEqual(ids(bob.received('new_message', bobAfter).map((e) => e.data)), [],
      'new_message ids bob got after leaving');
  });
  await alice?.close();
  await bob?.close();
}

async function reconnectScenario(set, bobVia) {
  const showId = takeShow();
  const tag = set.label === 'polling' ? 'p' : 'w';
  const scenario = checks.scenario(`${set.label} show ${showId} reconnect (${bobVia})`);
  let alice;
  let bob;
  let aliceUser;
  let bobUser;
  // Bob's chat state, kept as the product document's useShowChat keeps it: rejoin on every
  // 'connect', resuming after the last message seen. Arrivals are recorded raw (no dedupe)
  // so that a duplicate from the server shows.
  const state = { lastId: null, joins: [], arrivals: [] };
  const acked = []; // alice's messages, in the order acknowledged
  const sending = { stop: false, error: null, done: null };

  await scenario.step('reconnect', 'alice and bob connect and join', async () => {
    aliceUser = await devLogin(`js${RUN}_ralice_${tag}`);
    bobUser = await devLogin(`js${RUN}_rbob_${tag}`);
    bob = client(bobUser, bobVia, set, {
      reconnection: true, reconnectionDelay: RECONNECT_DELAY_MS,
      reconnectionDelayMax: RECONNECT_DELAY_MS, randomizationFactor: 0,
    });
    bob.socket.on('connect', () => {
      const payload = { show_id: showId };
      if (state.lastId !== null) payload.last_message_id = state.lastId;
      state.joins.push(payload);
      bob.socket.timeout(TIMEOUT_MS).emit('join_show', payload, (error, ack) => {
        bob.push('join_ack', error ? { ok: false, error: String(error) } : ack);
      });
    });
    const see = (message, via) => {
      state.arrivals.push({ id: message.id, via, join: state.joins.length });
      state.lastId = Math.max(state.lastId ?? 0, message.id);
    };
    bob.socket.on('message_history', (body) => body.messages.forEach((m) => see(m, 'history')));
    bob.socket.on('disconnect', () => { state.lastIdAtDisconnect = state.lastId; });
    bob.socket.on('new_message', (message) => see(message, 'live'));
    const bobAfter = bob.cursor;
    await connectAndGreet(bob, set);
    const { data } = await bob.waitFor('join_ack', { after: bobAfter });
    expect(data?.ok === true, () => `bob's join_show ack: ${JSON.stringify(data)}`);
    bob.shows.add(showId);
    alice = client(aliceUser, 'cookie', set);
    await connectAndGreet(alice, set);
    await join(alice, showId);
  });

  const sendLoop = async () => {
    for (let n = 0; !sending.stop && n < MAX_SENDS; n += 1) {
      const started = Date.now();
      const payload = { show_id: showId, message: `resume ${set.label} #${n}`,
                        client_msg_id: `js${RUN}-${tag}-r${n}` };
      for (;;) { // a rate-limited send is retried with the same client_msg_id
        const ack = await alice.call('send_message', payload);
        if (ack?.ok) {
          acked.push({ ...ack.message, ackedAt: Date.now() });
          break;
        }
        if (ack?.error?.message !== 'Rate limit exceeded') {
          throw new Error(`alice's send_message #${n}: ${JSON.stringify(ack)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, ack.error.retry_after_ms));
      }
      const pause = SEND_EVERY_MS - (Date.now() - started);
      if (pause > 0 && !sending.stop) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };

  let drop;
  await scenario.step('reconnect', 'bob gets alice\'s first messages live', async () => {
    sending.done = sendLoop().catch((error) => { sending.error = error; });
    const deadline = Date.now() + TIMEOUT_MS;
    while (acked.length < 3) {
      if (sending.error) throw sending.error;
      expect(Date.now() < deadline, 'alice had 3 messages acknowledged within the time limit');
      await within(bob.waitFor('new_message', { after: bob.cursor }), TIMEOUT_MS,
        'bob got no new_message');
    }
    await bob.waitFor('new_message', { test: (m) => m.id === acked[2].id });
  });
  await scenario.step('reconnect',
    'a dropped connection: disconnect, then socket.io-client reconnects on its own',
    async () => {
      const after = bob.cursor;
      const oldId = bob.socket.id;
      drop = { method: dropConnection(bob), lastId: state.lastId, at: Date.now(), after };
      const { data } = await bob.waitFor('disconnect', { after });
      expect(['transport close', 'forced close', 'transport error'].includes(data.reason),
        () => `disconnect reason ${data.reason}`);
      drop.reason = data.reason;
      drop.lastId = state.lastIdAtDisconnect; // the last message bob saw before the drop
      const connect = await bob.waitFor('connect', { after, ms: TIMEOUT_MS + RECONNECT_DELAY_MS });
      drop.reconnectedAt = connect.at;
      expect(bob.socket.id && bob.socket.id !== oldId, 'a new socket id after reconnecting');
      await bob.waitFor('connected', { after });
      expectEqual(bob.transport, set.expected, 'transport after reconnecting');
    });
  await scenario.step('reconnect',
    'bob rejoins on connect with last_message_id and gets exactly what he missed', async () => {
      const { data: ack } = await bob.waitFor('join_ack', { after: drop.after });
      expect(ack?.ok === true, () => `the rejoin's join_show ack: ${JSON.stringify(ack)}`);
      expectEqual(state.joins[1], { show_id: showId, last_message_id: drop.lastId },
        'the rejoin payload');
      const missed = state.arrivals.filter((a) => a.join === 2 && a.via === 'history');
      const expected = acked.filter((m) => m.id > drop.lastId).slice(0, missed.length);
      expectEqual(ids(missed), ids(expected), 'the resumed history');
      expect(missed.length > 0, () => 'alice sent messages while bob was disconnected '
        + `(${drop.method}; ${acked.filter((m) => m.ackedAt >= drop.at && m.ackedAt <= drop.reconnectedAt).length}`
        + ' acked in the gap), so the resumed history is not empty');
      drop.missed = missed.length;
    });
  await scenario.step('reconnect',
    'while alice kept sending, bob got every message exactly once and in order', async () => {
      const deadline = Date.now() + 3 * TIMEOUT_MS;
      const liveAfterRejoin = () => state.arrivals.filter((a) => a.join === 2 && a.via === 'live');
      while (liveAfterRejoin().length < 3) {
        if (sending.error) throw sending.error;
        expect(Date.now() < deadline, () => `bob got ${liveAfterRejoin().length} live messages `
          + 'after rejoining, expected at least 3 within the time limit');
        await bob.waitFor('new_message', { after: bob.cursor, ms: 2 * TIMEOUT_MS });
      }
      sending.stop = true;
      await within(sending.done, 2 * TIMEOUT_MS, 'alice\'s sending did not stop');
      if (sending.error) throw sending.error;
      const last = acked[acked.length - 1];
      await bob.waitFor('new_message', { test: (m) => m.id === last.id });
      await barrier(bob, showId);
      const seen = state.arrivals.map((a) => a.id);
      const twice = seen.filter((id, i) => seen.indexOf(id) !== i);
      expectEqual(twice, [], 'message ids bob received more than once');
      const ackedIds = new Set(ids(acked));
      expectEqual(seen.filter((id) => ackedIds.has(id)), ids(acked),
        'alice\'s messages as bob received them');
      drop.sent = acked.length;
      drop.live = liveAfterRejoin().length;
      log(`     reconnect ${set.label}: ${drop.method}, reason "${drop.reason}", `
        + `${drop.sent} sent, ${drop.missed} resumed from history, ${drop.live} live after rejoin`);
      reconnects.push({ transports: set.label, drop: drop.method, reason: drop.reason,
                        last_message_id: drop.lastId, sent: drop.sent,
                        resumed_from_history: drop.missed, live_after_rejoin: drop.live });
    });
  sending.stop = true;
  await within(sending.done ?? Promise.resolve(), 2 * TIMEOUT_MS, 'alice\'s sending stops')
    .catch(() => {});
  await alice?.close();
  await bob?.close();
}

// ------------------------------------------------------------------------- main

log(`chat flows against ${API}, shows ${SHOWS.join(',')}`);
try {
  await setup();
  for (const set of TRANSPORT_SETS) {
    await chatScenario(set);
    await reconnectScenario(set, set.label === 'polling' ? 'auth' : 'cookie');
  }
} catch (error) {
  checks.record({ group: 'script', name: 'the script ran to the end', scenario: 'script',
                  ok: false, ms: 0, error: String(error?.stack ?? error) });
} finally {
  await Promise.all(opened.map((made) => made.close().catch(() => {})));
}
const CLIENT_VERSION = JSON.parse(readFileSync(
  new URL('./node_modules/socket.io-client/package.json', import.meta.url))).version;
checks.finish({ api: API, shows: SHOWS, socket_io_client: CLIENT_VERSION, reconnects });
