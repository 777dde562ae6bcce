// Evaluates differential-test cases with the pinned @featbit/node-server-sdk in offline mode.
//
// Usage: node node_eval.js <cases.json> <out.json>
// Input: {"featureFlags": [...], "segments": [...], "cases": [{"flagKey", "user": {keyId, name?, customizedProperties}}]}
// Output: one entry per case: {"value": "<served value>"} or {"none": "<why the SDK served its default>"}.
// The SDK is driven only through its public API (FbClientBuilder, offline bootstrap, stringVariationDetail).
'use strict';
const fs = require('fs');
const path = require('path');
const sdk = require(path.join(__dirname, '..', 'sdk', 'node_modules', '@featbit', 'node-server-sdk'));

const DEFAULT = '\u0000vane-sdk-default';

async function main() {
  const [input, output] = process.argv.slice(2);
  const { featureFlags, segments, cases } = JSON.parse(fs.readFileSync(input, 'utf8'));
  const bootstrap = JSON.stringify({ messageType: 'data-sync', data: { eventType: 'full', featureFlags, segments } });
  const client = new sdk.FbClientBuilder()
    .offline(true)
    .useJsonBootstrapProvider(bootstrap)
    .logLevel('none')
    .build();
  await client.waitForInitialization();
  const results = [];
  for (const c of cases) {
    // The SDK's IUser: `key`, optional `name` (absent stays undefined, as for a user built without one).
    const user = { key: c.user.keyId, customizedProperties: c.user.customizedProperties };
    if (c.user.name !== null && c.user.name !== undefined) user.name = c.user.name;
    try {
      const detail = await client.stringVariationDetail(c.flagKey, user, DEFAULT);
      results.push(detail.value === DEFAULT ? { none: String(detail.kind) } : { value: detail.value });
    } catch (e) {
      results.push({ none: `threw ${e && e.name}` });
    }
  }
  fs.writeFileSync(output, JSON.stringify(results));
  await client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
