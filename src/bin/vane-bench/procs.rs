//! `--procs N`: the same command re-executed N times with a share of the work each, summaries merged. A child
//! learns its share from `VANE_BENCH_PART=i/N` and writes its summary to `VANE_BENCH_OUT`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use crate::summary::Summary;

const PART: &str = "VANE_BENCH_PART";
const OUT: &str = "VANE_BENCH_OUT";

/// `(index, count)` when this process is one part of a split run.
pub fn part() -> Option<(usize, usize)> {
    let v = std::env::var(PART).ok()?;
    let (i, n) = v.split_once('/')?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// Where a child writes its summary.
pub fn out_path() -> Option<PathBuf> {
    part().and(std::env::var_os(OUT).map(PathBuf::from))
}

/// Runs `n` children with this process's arguments and merges their summaries.
pub async fn run_split(n: usize) -> anyhow::Result<Summary> {
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::env::temp_dir();
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        let out = dir.join(format!("vane-bench-{}-{i}.json", std::process::id()));
        let child = std::process::Command::new(&exe)
            .args(&args)
            .env(PART, format!("{i}/{n}"))
            .env(OUT, &out)
            .spawn()
            .context("re-executing vane-bench")?;
        children.push((child, out));
    }
    let parts = tokio::task::spawn_blocking(move || {
        let mut parts = Vec::with_capacity(children.len());
        for (mut child, out) in children {
            let status = child.wait()?;
            if !status.success() {
                bail!("a part exited with {status}");
            }
            parts.push(serde_json::from_slice::<Summary>(&std::fs::read(&out)?)?);
            let _ = std::fs::remove_file(&out);
        }
        Ok(parts)
    })
    .await??;
    Ok(Summary::merge(parts))
}
