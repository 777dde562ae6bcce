// Drives the pinned, unmodified npm @featbit/js-client-sdk (its UMD bundle) in headless Debian chromium against a
// vane node, for tests/api/sdk_browser.rs.
//
// The page is served by a tiny static server on http://localhost:<port 0>, so it is cross-site to vane on
// 127.0.0.1: the insight POST needs a CORS preflight and the WebSocket handshake carries a foreign Origin. Chromium
// is driven through playwright-core with the system binary (never a downloaded one) and a fresh profile; what
// crosses the wire is recorded over the DevTools protocol.
//
// Input (JSON on stdin): {"url": "http://127.0.0.1:N", "secret": "<client secret>",
//   "users": [{"key", "name", "custom"}], "flags": [{"key", "kind", "default"}], "metric": {"name", "value"},
//   "pingIntervalMs", "minPings", "experiment"?: {"flag", "event", "winner", "winnerEvery", "otherEvery"}}
// Output (one JSON line on stdout): {"ready", "readyMs", "values", "converted", "pageOrigin", "sockets",
//   "preflights", "posts"}. "experiment" tracks conversions by the rule of node_server.mjs.
//
// Watch mode, the interface of watch_flag.mjs in the browser: `node browser_client.mjs --watch <http-base-url>
// <client-secret> <flag-key> <user-key>` prints {"value": …} each time the flag's value changes for that user
// (the first line once the SDK is ready) and exits when stdin closes (the Rust test owns the lifetime).
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordNetwork, summarize } from './browser_wire.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BUNDLE = new URL('./node_modules/@featbit/js-client-sdk/dist/umd/featbit-js-client-sdk.js', import.meta.url);
const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>vane sdk test</title>'
  + '<script src="/sdk.js"></script></head><body></body></html>';
const DEADLINE_MS = 60_000;
// Longest wait for one step inside the page or for the wire record to catch up.
const STEP_MS = 10_000;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Serves the test page and the SDK bundle on 127.0.0.1, port 0. */
function serveStatic() {
  const bundle = readFileSync(BUNDLE);
  const server = createServer((req, res) => {
    const [status, type, body] = req.url === '/' ? [200, 'text/html', PAGE]
      : req.url === '/sdk.js' ? [200, 'application/javascript', bundle]
        : [404, 'text/plain', 'not found'];
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function until(what, probe) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${STEP_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs in the page: start the client for the first user, then identify() every other user on the same socket. */
async function evaluateInPage({ url, secret, users, flags, pingIntervalMs, stepMs, experiment }) {
  const { FbClientBuilder, UserBuilder } = window;
  const toUser = ({ key, name, custom }) => {
    const builder = new UserBuilder(key).name(name);
    for (const [prop, value] of Object.entries(custom ?? {})) builder.custom(prop, value);
    return builder.build();
  };
  const within = (what, promise) => Promise.race([promise, new Promise((_, reject) => setTimeout(
    () => reject(new Error(`${what} did not complete within ${stepMs} ms`)), stepMs))]);
  const client = new FbClientBuilder({ webSocketPingInterval: pingIntervalMs })
    .sdkKey(secret).streamingUri(url.replace(/^http/, 'ws')).eventsUri(url).user(toUser(users[0])).build();
  window.fbClient = client;
  const started = performance.now();
  let ready = true;
  try {
    await client.waitForInitialization();
  } catch (err) {
    ready = false;
  }
  const readyMs = Math.round(performance.now() - started);
  const all = () => Object.fromEntries(flags.map((f) => [f.key, f.kind === 'bool'
    ? client.boolVariation(f.key, f.default) : client.stringVariation(f.key, f.default)]));
  const values = {};
  const converted = [];
  for (const [index, user] of users.entries()) {
    if (index > 0) await within(`identify(${user.key})`, client.identify(toUser(user)));
    values[user.key] = all();
    const every = experiment && (values[user.key][experiment.flag] === experiment.winner
      ? experiment.winnerEvery : experiment.otherEvery);
    if (experiment && index % every === 0) {
      client.track(experiment.event, 1);
      converted.push(user.key);
    }
  }
  return { ready, readyMs, values, converted };
}

/** Runs in the page: one custom metric, then flush (resolves after the POST) and close. */
async function trackAndClose({ metric }) {
  window.fbClient.track(metric.name, metric.value);
  const flushed = await window.fbClient.flush();
  await window.fbClient.close();
  return flushed;
}

async function main() {
  const input = await readStdin();
  const server = await serveStatic();
  const pageOrigin = `http://localhost:${server.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), 'vane-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (msg) => process.stderr.write(`page ${msg.type()}: ${msg.text()}\n`));
    const wire = await recordNetwork(await context.newCDPSession(page));
    await page.goto(`${pageOrigin}/`);
    const result = await page.evaluate(evaluateInPage, { ...input, stepMs: STEP_MS });
    // Pings are answered: the SDK recycles a socket that hears nothing for 2 × pingIntervalMs, so several answered
    // pings on the one socket show vane keeps it alive.
    await until(`${input.minPings} pings answered`, () => {
      const [socket] = summarize(wire).sockets;
      return socket && socket.pongsReceived >= input.minPings;
    });
    const flushed = await page.evaluate(trackAndClose, input);
    // Every POST the SDK sent (its periodic flush may have raced the explicit one) must have its answer.
    await until('the insight POST responses', () => {
      const { posts } = summarize(wire);
      return posts.length > 0 && posts.every((p) => p.status);
    });
    return { ...result, flushed, pageOrigin, ...summarize(wire) };
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Runs in the page: one client for `userKey`, reporting each new value of `flagKey` through window.report. */
async function watchInPage({ url, secret, flagKey, userKey }) {
  const { FbClientBuilder, UserBuilder } = window;
  const client = new FbClientBuilder().sdkKey(secret).streamingUri(url.replace(/^http/, 'ws')).eventsUri(url)
    .user(new UserBuilder(userKey).name(userKey).build()).build();
  await client.waitForInitialization();
  let last;
  const check = () => {
    const value = client.stringVariation(flagKey, 'missing');
    if (value !== last) {
      last = value;
      window.report(value);
    }
  };
  check();
  setInterval(check, 10);
}

async function watch([url, secret, flagKey, userKey]) {
  const server = await serveStatic();
  const profile = mkdtempSync(join(tmpdir(), 'vane-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (msg) => process.stderr.write(`page ${msg.type()}: ${msg.text()}\n`));
    await page.exposeFunction('report', (value) => process.stdout.write(`${JSON.stringify({ value })}\n`));
    await page.goto(`http://localhost:${server.address().port}/`);
    await page.evaluate(watchInPage, { url, secret, flagKey, userKey });
    await new Promise((resolve) => {
      process.stdin.on('end', resolve);
      process.stdin.resume();
    });
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(0);
}

if (process.argv[2] === '--watch') {
  await watch(process.argv.slice(3));
}

const guard = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ error: `driver deadline of ${DEADLINE_MS} ms passed` })}\n`);
  process.exit(3);
}, DEADLINE_MS);

main().then(
  (result) => {
    clearTimeout(guard);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err) => {
    clearTimeout(guard);
    process.stdout.write(`${JSON.stringify({ error: String(err?.stack ?? err) })}\n`);
    process.exit(2);
  },
);
