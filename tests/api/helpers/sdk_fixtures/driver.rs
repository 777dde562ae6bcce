//! Runs a driver script from `tests/sdk/` (node, the project venv's python, or node + chromium) as a child process:
//! JSON in on stdin, one JSON line out on stdout, killed when its deadline passes.
//!
//! Missing prerequisites fail the test with the command that installs them; nothing is ever skipped silently.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Where the driver scripts, `node_modules` and the venv live.
pub fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk")
}

/// The system chromium the browser driver uses (installed by `.ci/run`; never downloaded by playwright).
pub const CHROMIUM: &str = "/usr/bin/chromium";

fn require(path: &Path, what: &str, fix: &str) {
    assert!(path.exists(), "{what} is missing ({} not found): run `{fix}`", path.display());
}

/// `node tests/sdk/<script>`, after checking that node and the pinned npm packages are installed.
pub fn node(script: &str) -> Command {
    let dir = sdk_dir();
    let found = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "`node` is not on PATH: install Node.js 18+ to run the real-SDK tests");
    require(&dir.join("node_modules/@featbit/node-server-sdk/package.json"), "the node SDK", "make sdk-deps");
    require(&dir.join("node_modules/@featbit/js-client-sdk/package.json"), "the js client SDK", "make sdk-deps");
    require(&dir.join("node_modules/playwright-core/package.json"), "playwright-core", "make sdk-deps");
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script)).current_dir(&dir);
    cmd
}

/// `tests/sdk/.venv/bin/python tests/sdk/<script>`, after checking that the venv exists.
pub fn python(script: &str) -> Command {
    let dir = sdk_dir();
    let python = dir.join(".venv/bin/python");
    require(&python, "the python SDK venv", "make sdk-deps");
    let installed = std::fs::read_dir(dir.join(".venv/lib"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|p| p.path().join("site-packages/fbclient/client.py").exists());
    assert!(installed, "fb-python-sdk is not installed in tests/sdk/.venv: run `make sdk-deps`");
    let mut cmd = Command::new(python);
    cmd.arg(dir.join(script)).current_dir(&dir);
    cmd
}

/// [`node`] for the browser driver, after checking that chromium is installed.
pub fn browser(script: &str) -> Command {
    require(Path::new(CHROMIUM), "chromium", "apt-get install -y chromium");
    node(script)
}

/// Runs `cmd` with `input` on stdin and returns the JSON it printed last. Blocks the calling thread (the server is
/// another process, so nothing else needs it). Panics — with the driver's stderr — if it does not finish within
/// `deadline` (then it is killed), exits non-zero, or reports `{"error": …}`.
pub fn run(mut cmd: Command, input: &Value, deadline: Duration) -> Value {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin.write_all(input.to_string().as_bytes()).expect("driver reads its input");
    drop(stdin);
    let stdout = read_to_end(child.stdout.take().expect("stdout piped"));
    let stderr = read_to_end(child.stderr.take().expect("stderr piped"));
    // stdout ends when the driver exits (or is killed), so its reader doubles as the exit watch.
    let Ok(out) = stdout.recv_timeout(deadline) else {
        child.kill().ok();
        child.wait().ok();
        let err = stderr.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
        panic!("{what} did not finish within {deadline:?}; stderr:\n{}", tail(&err));
    };
    let status = child.wait().expect("driver exit status");
    let err = stderr.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    let last = out.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(last).unwrap_or_else(|_| {
        panic!("{what} exited {status} without a JSON result; stdout:\n{out}\nstderr:\n{}", tail(&err))
    });
    assert!(result.get("error").is_none(), "{what} failed: {}\nstderr:\n{}", result["error"], tail(&err));
    assert!(status.success(), "{what} exited {status}; stderr:\n{}", tail(&err));
    result
}

/// Reads a pipe to the end on a thread; the text arrives on the channel.
fn read_to_end(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).ok();
        tx.send(text).ok();
    });
    rx
}

/// The last lines of a driver's log, enough to see why it failed.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
