//! Vane's runtime: everything that behaves, as opposed to the data shapes of `vane-schema`.
//!
//! Topology (one node):
//! * [`store::Store`] — the database (Postgres or SQLite) behind every load and write;
//! * `eval` — the pure evaluator: flags compiled once, evaluated per user without allocation.
//!
//! Routing and HTTP status codes live in the server crate; nothing here knows about them.

pub mod eval;
pub mod store;
