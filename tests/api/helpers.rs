//! Shared test plumbing: per-test databases, in-process apps, polling with a deadline.

pub mod app;
pub mod database;
pub mod process;
#[allow(dead_code)] // used by the streaming tests
pub mod wait;
