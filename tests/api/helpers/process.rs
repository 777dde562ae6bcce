//! A real `vane` process started from the built binary, in a directory of its own, on a free port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child `vane serve` and the lines it printed.
pub struct VaneProcess {
    child: Child,
    /// Every stdout line so far (collected by a reader thread).
    lines: mpsc::Receiver<String>,
    /// Lines already received.
    pub seen: Vec<String>,
}

impl VaneProcess {
    /// Starts `vane` in `dir` with `VANE__…` variables (the port defaults to 0).
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vane"));
        cmd.current_dir(dir).env("VANE__HTTP__ADDR", "127.0.0.1:0").env("VANE__HTTP__WORKERS", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("vane starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, seen: Vec::new() }
    }

    /// Waits for a stdout line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line containing {needle:?} within {timeout:?}; got {:#?}", self.seen),
            }
        }
    }

    /// The port parsed from the banner or log line `…127.0.0.1:PORT/health/liveness`.
    pub fn port_from_banner(&mut self) -> u16 {
        let line = self.wait_for_line("/health/liveness", Duration::from_secs(60));
        let after = line.split("127.0.0.1:").nth(1).expect("address in banner");
        after.split('/').next().and_then(|p| p.parse().ok()).expect("port in banner")
    }

    /// SIGKILLs the process (no shutdown of any kind) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id (to read its memory and CPU from /proc).
    #[cfg_attr(not(feature = "load-tool"), allow(dead_code))] // only the load-tool tests read it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's memory figure `field` of `/proc/PID/status` (`VmRSS`, `VmHWM` = peak RSS), in bytes.
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let line = status.lines().find(|l| l.starts_with(field)).expect("field in /proc status");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB");
        kib * 1024
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.child.wait().expect("vane exits")
    }
}

impl Drop for VaneProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
