//! The measured server's resident memory and CPU time, read from `/proc/PID` when it runs on this machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Kernel clock ticks per second for `/proc/PID/stat` times (100 on every Linux configuration we run on).
const CLK_TCK: f64 = 100.0;
/// How often the RSS sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ProcReading {
    /// Resident set (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set since the process started (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// User + system CPU seconds since the process started.
    pub cpu_s: f64,
}

/// Reads `/proc/PID/status` and `/proc/PID/stat`; `None` when the process is not visible.
pub fn read(pid: u32) -> Option<ProcReading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib =
        |key: &str| status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    Some(ProcReading { rss_kib: kib("VmRSS:")?, hwm_kib: kib("VmHWM:")?, cpu_s: (ticks(11) + ticks(12)) / CLK_TCK })
}

/// What the server used during a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerUsage {
    /// Reading at the start.
    pub start: ProcReading,
    /// Reading at the end.
    pub end: ProcReading,
    /// Highest RSS sampled during the run (every 50 ms), KiB.
    pub peak_rss_kib: u64,
    /// CPU seconds the server spent during the run.
    pub cpu_s: f64,
}

/// Samples a server's RSS in the background until [`Sampler::finish`].
pub struct Sampler {
    pid: u32,
    start: ProcReading,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `pid`; `None` without a readable pid.
    pub fn start(pid: Option<u32>) -> Option<Self> {
        let pid = pid?;
        let start = read(pid)?;
        let peak = Arc::new(AtomicU64::new(start.rss_kib));
        let task = tokio::spawn({
            let peak = peak.clone();
            async move {
                while let Some(r) = read(pid) {
                    peak.fetch_max(r.rss_kib, Ordering::Relaxed);
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
            }
        });
        Some(Self { pid, start, peak, task })
    }

    /// The current RSS, KiB.
    pub fn rss_now(&self) -> u64 {
        read(self.pid).map_or(0, |r| r.rss_kib)
    }

    /// Stops sampling and returns the usage.
    pub fn finish(self) -> ServerUsage {
        self.task.abort();
        let end = read(self.pid).unwrap_or_default();
        let peak = self.peak.load(Ordering::Relaxed).max(end.rss_kib);
        ServerUsage { start: self.start, end, peak_rss_kib: peak, cpu_s: end.cpu_s - self.start.cpu_s }
    }
}
