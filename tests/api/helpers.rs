//! Shared test plumbing: per-test databases, in-process apps, seeding, an SDK-protocol client, polling with a
//! deadline.

pub mod app;
pub mod cluster;
pub mod database;
pub mod node_sdk;
pub mod otlp;
pub mod process;
pub mod rabbit;
pub mod redis_server;
pub mod sdk;
pub mod sdk_fixtures;
pub mod seed;
pub mod vhost;
pub mod wait;
