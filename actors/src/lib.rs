//! Vane's runtime: everything that behaves, as opposed to the data shapes of `vane-schema`.
//!
//! Topology of one node:
//! * [`store::Store`] — the database (Postgres or SQLite) behind every load and write;
//! * [`eval`] — the pure evaluator: flags compiled once, evaluated per user without allocation;
//! * [`snapshot::EnvSnapshot`] — one environment at one version: compiled flags and segments, and the server
//!   `full` payload serialized once;
//! * [`hub::Hub`] — one actor per node on its own arbiter: loads snapshots and catches up from the database in
//!   tasks (it never awaits I/O), registers sessions by environment, applies changes idempotently and pushes them
//!   through bounded mailboxes;
//! * [`session::SdkSession`] — one actor per SDK WebSocket (actix-ws I/O), answering pings and data-syncs from
//!   the published snapshot and forwarding pushes;
//! * [`access::Access`] — connection-token and secret checks, from every environment's secrets held in memory;
//! * [`rate_limit::RateLimiter`] — per-environment rate limits (`[rate_limits]`), local or shared in Redis;
//! * [`metrics`] — the node's OpenTelemetry instruments, recorded everywhere, exported by the server crate;
//! * [`propagation`] — W3C trace context through AMQP headers (see README "Tracing").
//!
//! Routing and HTTP status codes live in the server crate; nothing here knows about them.

pub mod access;
pub mod admin;
pub mod cache;
pub mod changes;
pub mod eval;
pub mod experiment;
pub mod hub;
pub mod ingest;
pub mod metrics;
pub mod propagation;
pub mod rate_limit;
pub mod session;
pub mod snapshot;
pub mod store;
pub mod writer;
