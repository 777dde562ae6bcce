//! Shared test plumbing: per-test databases, in-process apps, seeding, an SDK-protocol client, polling with a
//! deadline.

pub mod app;
pub mod database;
pub mod process;
pub mod sdk;
pub mod seed;
pub mod wait;
