//! Data shapes of Vane, with no runtime behaviour.
//!
//! * [`wire`] — the FeatBit JSON model exactly as SDKs, the management API and the message bus see it
//!   (flags, segments, end users, insights, socket frames).
//! * [`secret`] — FeatBit environment secrets and SDK connection tokens.
//! * [`entity`] and [`migration`] — the SeaORM tables and the migrations that create them on Postgres and SQLite.
//!
//! Everything here is pure data plus conversions; the evaluator, actors and I/O live in `vane-actors`.

pub mod entity;
pub mod migration;
pub mod secret;
pub mod wire;
