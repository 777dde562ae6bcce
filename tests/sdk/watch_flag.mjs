// Watches one flag for one user through the real @featbit/node-server-sdk and prints a JSON line
// {"value": …} each time the evaluated value changes (the first line once the SDK is ready).
// Usage: node watch_flag.mjs <http-base-url> <server-secret> <flag-key> <user-key>
// Exits when stdin closes (the Rust test owns the lifetime).
import { FbClientBuilder, UserBuilder } from '@featbit/node-server-sdk';

const [base, secret, flagKey, userKey] = process.argv.slice(2);
const client = new FbClientBuilder()
  .sdkKey(secret)
  .streamingUri(base.replace(/^http/, 'ws'))
  .eventsUri(base)
  .build();
await client.waitForInitialization();
const user = new UserBuilder(userKey).name(userKey).build();
let last;
const check = async () => {
  const value = await client.stringVariation(flagKey, user, 'missing');
  if (value !== last) {
    last = value;
    process.stdout.write(JSON.stringify({ value }) + '\n');
  }
};
await check();
const timer = setInterval(check, 10);
process.stdin.on('end', async () => {
  clearInterval(timer);
  await client.close();
  process.exit(0);
});
process.stdin.resume();
