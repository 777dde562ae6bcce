//! Options every scenario takes, and the process-wide setup (open-file limit, progress bars).

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use crate::procs;

/// Options shared by every scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Base URL of the node, `http://IP:PORT` (use a loopback address).
    #[arg(long)]
    pub url: String,
    /// The node's admin token (the run creates and deletes its own environment).
    #[arg(long, env = "VANE_BENCH_ADMIN_TOKEN")]
    pub admin_token: String,
    /// The server's pid, to read its RSS and CPU from /proc (local servers only).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the JSON summary here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Split the run over this many processes (storm, ingest, polling).
    #[arg(long, default_value_t = 1)]
    pub procs: usize,
    /// Loopback source addresses to spread connections over (127.0.0.1 … 127.0.0.N).
    #[arg(long, default_value_t = 8)]
    pub source_addrs: u8,
    /// Hard limit on the whole run, seconds.
    #[arg(long, default_value_t = 900)]
    pub max_seconds: u64,
}

impl Common {
    /// This process's share of `total` items and the index of its first item.
    pub fn share(&self, total: usize) -> (usize, usize) {
        match procs::part() {
            None => (total, 0),
            Some((i, n)) => {
                let base = total / n;
                let extra = total % n;
                (base + usize::from(i < extra), i * base + i.min(extra))
            }
        }
    }
}

/// Raises the soft open-file limit to the hard limit (20,000 on the shared machine): every socket is a file.
pub fn raise_nofile() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < 1024 => eprintln!("warning: only {n} open files allowed"),
        Ok(_) => {}
        Err(e) => eprintln!("warning: open-file limit not raised: {e}"),
    }
}

/// A progress bar on a terminal, hidden otherwise (CI logs, child processes).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() || procs::part().is_some() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(what.to_owned());
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec}") {
        bar.set_style(style);
    }
    bar
}
