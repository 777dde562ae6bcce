//! HTTP routes, one file per resource; each exposes `configure` for `startup`.

pub mod health;
