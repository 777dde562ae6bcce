//! The real `@featbit/node-server-sdk`, driven by `tests/sdk/watch_flag.mjs`, or the real js-client-sdk in
//! Chromium (`tests/sdk/browser_client.mjs --watch`): each reports every new value one flag takes for one user.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The pinned SDKs' folder.
pub fn sdk_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk"));
    assert!(
        dir.join("node_modules/@featbit/node-server-sdk").exists(),
        "the pinned SDKs are not installed: run `make sdk-deps` (npm ci in tests/sdk)"
    );
    dir
}

/// A running watcher.
pub struct FlagWatcher {
    child: Child,
    values: mpsc::Receiver<String>,
}

impl FlagWatcher {
    /// Starts the SDK against `base` (`http://127.0.0.1:PORT`) watching `flag` for `user`.
    pub fn start(base: &str, secret: &str, flag: &str, user: &str) -> Self {
        Self::spawn(&["watch_flag.mjs", base, secret, flag, user])
    }

    /// Starts the js-client-sdk in headless Chromium against `base`, with a client secret, as `user`.
    pub fn browser(base: &str, client_secret: &str, flag: &str, user: &str) -> Self {
        Self::spawn(&["browser_client.mjs", "--watch", base, client_secret, flag, user])
    }

    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .current_dir(sdk_dir())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped");
        let (tx, values) = mpsc::channel();
        std::thread::spawn(move || {
            // The SDK logs to stdout too; only the script's JSON lines are values.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                let Some(value) = json.get("value") else { continue };
                if tx.send(value.as_str().map_or_else(|| value.to_string(), str::to_owned)).is_err() {
                    break;
                }
            }
        });
        Self { child, values }
    }

    /// The next value the SDK reports, within `timeout`.
    pub fn next_value(&self, timeout: Duration) -> String {
        self.values
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("the node SDK reported no new value within {timeout:?}"))
    }
}

impl Drop for FlagWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
