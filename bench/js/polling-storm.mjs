// N socket.io-client 4.8 clients with the client's defaults (HTTP long-polling first, then
// the upgrade to WebSocket), all at once: each joins show 1 on `connected` and waits for
// `active_users`. The harness's own clients speak WebSocket only; this is the React app's
// path. Ad hoc, against a running server (docs/performance.md, "The default JavaScript
// client"):
//
//   npm ci --prefix tests/js                      # socket.io-client, as the JS tests use
//   createdb, `sharemyshows-rt migrate`, users 1..N and show 1 in the database, then
//   JWT_SECRET_KEY=... DATABASE_URL=... sharemyshows-rt serve --port 18123
//   node bench/js/polling-storm.mjs http://127.0.0.1:18123 "$JWT_SECRET_KEY" 2000 0 &
//   node bench/js/polling-storm.mjs http://127.0.0.1:18123 "$JWT_SECRET_KEY" 2000 2000
//
// Arguments: server URL, the server's JWT secret, clients, first user id - 1. Prints one
// JSON line, then the event timelines of the three slowest joins. Each client keeps its
// polling connections alive (at most 6), as a browser does; KEEPALIVE=0 opens one
// connection per request, as socket.io-client does in Node by default.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import http from 'node:http';

const require = createRequire(new URL('../../tests/js/package.json', import.meta.url));
const { io } = require('socket.io-client');

const [url, secret] = [process.argv[2], process.argv[3]];
const [n, offset] = [Number(process.argv[4] || 1000), Number(process.argv[5] || 0)];
const keepAlive = process.env.KEEPALIVE !== '0';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(userId) {
  // An HS256 access token as Flask-JWT-Extended issues it (bench/generator.py: make_token).
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub: String(userId), type: 'access', fresh: false, iat: now, nbf: now,
                     exp: now + 3600, jti: crypto.randomBytes(8).toString('hex') });
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(3);
const errors = {};
const count = (what) => { errors[what] = (errors[what] || 0) + 1; };
const why = (d) => d?.code || d?.message || (typeof d === 'number' ? `status ${d}` : '');
const sockets = [];
let joined = 0;

await new Promise((resolve) => {
  const deadline = setTimeout(resolve, 120_000);
  for (let i = 1; i <= n; i++) {
    const options = { auth: { token: token(i + offset) }, reconnection: false, timeout: 60_000 };
    if (keepAlive) {
      options.transportOptions = { polling: { agent: new http.Agent({ keepAlive: true, maxSockets: 6 }) } };
    }
    const s = io(url, options);
    s.timeline = [];
    sockets.push(s);
    const mark = (what) => s.timeline.push(`${seconds()} ${what}`);
    s.io.on('open', () => {
      const engine = s.io.engine;
      mark(`open ${engine.transport.name}`);
      engine.on('packet', (p) => mark(`<- ${p.type} ${String(p.data ?? '').slice(0, 30)} via ${engine.transport.name}`));
      engine.on('packetCreate', (p) => mark(`-> ${p.type} ${String(p.data ?? '').slice(0, 30)} via ${engine.transport.name}`));
      engine.on('upgrade', (t) => mark(`upgraded to ${t.name}`));
    });
    let sent = 0;
    s.on('connected', () => { sent = performance.now(); s.emit('join_show', { show_id: 1 }); });
    s.on('active_users', () => {
      if (!sent) return;
      s.joinMs = performance.now() - sent;
      sent = 0;
      if (++joined === n) { clearTimeout(deadline); resolve(); }
    });
    s.on('connect_error', (e) => count(`connect_error: ${e.message} ${why(e.description)}`));
    s.on('disconnect', (reason, details) => count(`disconnect: ${reason} ${why(details?.description)}`));
  }
});
const allJoined = (performance.now() - t0) / 1000;
const latencies = sockets.map((s) => s.joinMs).filter((x) => x !== undefined).sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1) : null);
const transports = {};
for (const s of sockets) {
  const name = s.io.engine?.transport?.name ?? 'none';
  transports[name] = (transports[name] || 0) + 1;
}
console.log(JSON.stringify({ clients: n, joined, seconds_until_all_joined: allJoined.toFixed(2),
  join_ms: { p50: at(0.5), p99: at(0.99), max: at(1) }, transports, errors }));
const slowest = sockets.filter((s) => s.joinMs !== undefined).sort((a, b) => b.joinMs - a.joinMs).slice(0, 3);
for (const s of slowest) console.log(`--- join ${s.joinMs.toFixed(0)} ms\n${s.timeline.join('\n')}`);
for (const s of sockets) s.close();
process.exit(0);
