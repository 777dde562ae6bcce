//! The integration test binary: real Postgres, SQLite, and real `vane` processes on port 0.

mod helpers;

mod admin;
mod binary;
mod cluster;
mod health;
mod ingest;
mod storage;
mod streaming;
mod track;
