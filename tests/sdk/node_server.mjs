// Drives the pinned, unmodified npm @featbit/node-server-sdk against a vane node, for tests/api/sdk_node.rs.
//
// Input (JSON on stdin): {"url": "http://127.0.0.1:N", "secret": "<server secret>",
//   "users": [{"key", "name", "custom": {prop: value}}], "flags": [{"key", "kind": "bool"|"string", "default"}],
//   "metric": {"name", "value"}, "experiment"?: {"flag", "event", "winner", "winnerEvery", "otherEvery"}}
// Output (one JSON line on stdout): {"ready", "readyMs", "values": {userKey: {flagKey: value}}, "converted", "flushed"}.
// With "experiment", user number i tracks "event" when i % winnerEvery == 0 if it was served "winner", else when
// i % otherEvery == 0: known conversion rates per variation (tests/api/experiments/sdk.rs).
// The SDK logs to stderr; a deadline inside the script guards against a hung SDK (the Rust test has its own).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { FbClientBuilder, UserBuilder, BasicLogger } = require('@featbit/node-server-sdk');

const DEADLINE_MS = 30_000;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function buildUser({ key, name, custom }) {
  const builder = new UserBuilder(key).name(name);
  for (const [prop, value] of Object.entries(custom ?? {})) builder.custom(prop, value);
  return builder.build();
}

async function evaluate(client, user, flag) {
  switch (flag.kind) {
    case 'bool': return client.boolVariation(flag.key, user, flag.default);
    case 'string': return client.stringVariation(flag.key, user, flag.default);
    default: throw new Error(`unknown flag kind ${flag.kind}`);
  }
}

/** Whether user number `index`, served `values`, converts in the experiment (never without one). */
function converts(experiment, values, index) {
  if (!experiment) return false;
  const every = values[experiment.flag] === experiment.winner ? experiment.winnerEvery : experiment.otherEvery;
  return index % every === 0;
}

async function main() {
  const input = await readStdin();
  const logger = new BasicLogger({ level: 'info', destination: (line) => process.stderr.write(`${line}\n`) });
  const client = new FbClientBuilder()
    .sdkKey(input.secret)
    .streamingUri(input.url.replace(/^http/, 'ws'))
    .eventsUri(input.url)
    .logger(logger)
    .build();

  const started = Date.now();
  let ready = true;
  try {
    await client.waitForInitialization();
  } catch (err) {
    ready = false;
    process.stderr.write(`not ready: ${err}\n`);
  }
  const readyMs = Date.now() - started;

  const values = {};
  const converted = [];
  for (const [index, spec] of input.users.entries()) {
    const user = buildUser(spec);
    values[spec.key] = {};
    for (const flag of input.flags) values[spec.key][flag.key] = await evaluate(client, user, flag);
    if (converts(input.experiment, values[spec.key], index)) {
      client.track(user, input.experiment.event, 1);
      converted.push(spec.key);
    }
  }
  client.track(buildUser(input.users[0]), input.metric.name, input.metric.value);
  const flushed = await client.flush();
  await client.close();
  return { ready, readyMs, values, converted, flushed };
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
