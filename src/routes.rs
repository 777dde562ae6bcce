//! HTTP routes, one file per resource; each exposes `configure` for `startup`.

pub mod admin;
pub mod body;
pub mod experiments;
pub mod health;
pub mod insight;
pub mod metrics;
pub mod openapi;
pub mod reports;
pub mod sdk;
pub mod secrets;
pub mod streaming;
pub mod users;

use actix_cors::Cors;
use actix_web::web;

/// Mounts every route. `/api/public` answers CORS preflights for any origin before authentication, as browsers
/// running the js client SDK need.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let cors = Cors::default().allow_any_origin().allow_any_method().allow_any_header().max_age(3600);
    cfg.configure(health::configure)
        .configure(metrics::configure)
        .configure(admin::configure)
        .configure(streaming::configure)
        .service(web::scope("/api/public").wrap(cors).configure(sdk::configure).configure(insight::configure));
}
