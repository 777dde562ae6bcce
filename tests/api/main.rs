//! The integration test binary: real Postgres, SQLite, and real `vane` processes on port 0.

mod helpers;

mod admin;
#[cfg(feature = "load-tool")]
mod bench_tool;
mod binary;
mod cluster;
mod experiments;
mod faults;
mod health;
mod ingest;
mod ingest_restart;
mod integrity;
mod integrity_numbers;
mod large_frames;
mod limits;
mod ops;
mod sdk_browser;
mod sdk_node;
mod sdk_python;
mod secrets;
mod storage;
mod stored_users;
mod streaming;
mod track;
