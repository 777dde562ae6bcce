//! Fault tests: each injects one real fault into its own resources only (its database, vhost, Redis server or
//! node processes; never the shared services) and shows what keeps working meanwhile and that everything converges
//! after recovery, within bounded time.

mod broker;
mod node_kill;
mod postgres;
mod redis;
mod slow_catch_up;
