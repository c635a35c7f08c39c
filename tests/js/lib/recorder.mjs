// A socket.io-client connection that records every event it receives, in order, so that a
// check can ask "did X arrive, and before Y?" and wait (bounded) for what has not arrived.

import { io } from 'socket.io-client';

import { CheckFailure, TIMEOUT_MS } from './harness.mjs';

const LIFECYCLE = ['connect', 'disconnect', 'connect_error'];

export class RecordingClient {
  /**
   * @param {string} api    the server's base URL
   * @param {object} user   {user_id, username, token, cookie}
   * @param {object} how    {via: 'cookie'|'auth'|'none', transports, reconnection options}
   */
  constructor(api, user, { via, transports, ...options }) {
    this.user = user;
    this.via = via;
    this.events = []; // {name, data, at}
    this.waiters = new Set();
    this.shows = new Set(); // shows joined (the scripts record their joins here)
    const opts = {
      transports,
      forceNew: true,
      autoConnect: false,
      reconnection: false,
      timeout: TIMEOUT_MS,
      ...options,
    };
    if (via === 'cookie') {
      // Node has no cookie jar: the header the browser would send, on both transports
      // (polling requests and the WebSocket upgrade).
      opts.extraHeaders = { Cookie: user.cookie };
    } else if (via === 'auth') {
      opts.auth = { token: user.token };
    }
    this.socket = io(api, opts);
    this.socket.onAny((name, ...args) => this.push(name, args.length === 1 ? args[0] : args));
    for (const name of LIFECYCLE) {
      this.socket.on(name, (data) => this.push(name, lifecycleData(name, data)));
    }
  }

  get label() {
    return `${this.user.username} (${this.via})`;
  }

  push(name, data) {
    const event = { name, data, at: Date.now(), index: this.events.length };
    this.events.push(event);
    for (const waiter of [...this.waiters]) waiter(event);
  }

  get cursor() {
    return this.events.length;
  }

  received(name, after = 0) {
    return this.events.slice(after).filter((event) => event.name === name);
  }

  /** The first `name` event at index >= `after` matching `test`; waits at most `ms`.
   * `name` may be a list of names: the first event of any of them. */
  waitFor(name, { after = 0, test = () => true, ms = TIMEOUT_MS } = {}) {
    const names = Array.isArray(name) ? name : [name];
    const match = (event) => event.index >= after && names.includes(event.name)
      && test(event.data);
    const found = this.events.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = (event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(event);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.events.slice(after).map((event) => event.name);
        reject(new CheckFailure(`${this.label} did not receive a matching "${names.join('" or "')}" `
          + `within ${ms} ms; received since: [${seen.join(', ')}]`));
      }, ms);
      this.waiters.add(waiter);
    });
  }

  /** Connect and wait for `connect` (or reject with the `connect_error`). */
  async open(ms = TIMEOUT_MS) {
    const after = this.cursor;
    this.socket.connect();
    const outcome = await this.waitFor(['connect', 'connect_error'], { after, ms });
    if (outcome.name === 'connect_error') {
      throw new CheckFailure(`${this.label} was refused: ${outcome.data.message}`);
    }
    return outcome;
  }

  /** Emit with an acknowledgement; the ack (bounded). */
  async call(event, payload, ms = TIMEOUT_MS) {
    try {
      return await this.socket.timeout(ms).emitWithAck(event, payload);
    } catch (error) {
      throw new CheckFailure(`${this.label}: no ack for "${event}" within ${ms} ms (${error.message})`);
    }
  }

  /** The engine.io transport in use: 'websocket' or 'polling'. */
  get transport() {
    return this.socket.io.engine?.transport?.name;
  }

  /** As the product document's hook cleans up: leave every show joined, then disconnect. */
  async close(ms = 2000) {
    if (this.socket.connected) {
      for (const showId of this.shows) {
        await this.call('leave_show', { show_id: showId }, ms).catch(() => {});
      }
    }
    this.shows.clear();
    this.socket.disconnect();
  }
}

function lifecycleData(name, data) {
  if (name === 'connect_error') return { message: data?.message, data: data?.data ?? null };
  if (name === 'disconnect') return { reason: data };
  return null;
}

/**
 * Cut the connection under the client, as a network would: the WebSocket's TCP socket is
 * destroyed without a close frame; a polling engine is closed (socket.io.engine.close()).
 * Either way the Manager sees the transport close and reconnects on its own.
 */
export function dropConnection(client) {
  const engine = client.socket.io.engine;
  const raw = engine?.transport?.ws?._socket;
  if (engine?.transport?.name === 'websocket' && raw && typeof raw.destroy === 'function') {
    raw.destroy();
    return 'raw WebSocket TCP socket destroyed';
  }
  engine.close();
  return 'socket.io.engine.close()';
}
