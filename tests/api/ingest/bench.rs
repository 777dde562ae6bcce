//! Sustained ingestion benchmark, HTTP → RabbitMQ → Postgres (ignored by default; numbers go to BENCHMARKS.md):
//!
//! ```text
//! cargo test --release --test api ingest_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! A node's pipeline ([`Ingest::amqp`]) behind a minimal track route on one HTTP worker, fed by concurrent
//! keep-alive clients in this process, each posting pre-serialized 50-item bodies (100 evaluations, as SDKs batch
//! them). Reported: intake (events confirmed by the broker per second), end to end (events stored per second,
//! from the first request to the last row committed), track latency, and that stored rows equal accepted ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use uuid::Uuid;
use vane_actors::ingest::{AmqpIngestConfig, Ingest, IngestConfig};
use vane_actors::store::{Store, StoreConfig};
use vane_schema::wire::{EndUser, Insight, InsightVariation, VariationInsight};

use super::events_in;
use crate::helpers::database::TestDb;
use crate::helpers::vhost::TestVhost;

/// One load profile and pipeline configuration.
struct Scenario {
    /// Writer batch size.
    batch: usize,
    /// Writer flush interval.
    flush_ms: u64,
    /// AMQP prefetch (messages = track calls).
    prefetch: u16,
    /// Parallel `events` writers.
    writers: usize,
    /// Concurrent HTTP clients.
    clients: usize,
    /// Requests in total (each 100 events).
    requests: usize,
}

const ITEMS_PER_BODY: usize = 50;
const EVENTS_PER_ITEM: usize = 2;

/// Body number `n`: 50 users, two evaluations each, timestamps unique per body.
fn body(env: Uuid, n: usize) -> Vec<u8> {
    let items: Vec<Insight> = (0..ITEMS_PER_BODY)
        .map(|i| Insight {
            user: Some(EndUser {
                name: Some(format!("User {}", (n * ITEMS_PER_BODY + i) % 5_000)),
                ..EndUser::with_key(format!("user-{}", (n * ITEMS_PER_BODY + i) % 5_000)).with_property("plan", "pro")
            }),
            variations: (0..EVENTS_PER_ITEM)
                .map(|f| VariationInsight {
                    feature_flag_key: format!("flag-{f}"),
                    variation: Some(InsightVariation { id: format!("{env}-var-{}", i % 2), value: "true".into() }),
                    send_to_experiment: true,
                    timestamp: 1_719_750_000_000 + (n * ITEMS_PER_BODY + i) as i64,
                })
                .collect(),
            metrics: vec![],
        })
        .collect();
    serde_json::to_vec(&items).expect("serializes")
}

async fn track(ingest: web::Data<Ingest>, env: web::Data<Uuid>, body: web::Json<Vec<Insight>>) -> HttpResponse {
    match ingest.track(**env, body.into_inner()).await {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// Posts every body in `bodies[start..]` stepping by `step`; returns each request's latency.
async fn client(url: String, bodies: Arc<Vec<Vec<u8>>>, start: usize, step: usize) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for body in bodies.iter().skip(start).step_by(step) {
        let sent = Instant::now();
        let response = http.post(&url).header("content-type", "application/json").body(body.clone()).send().await;
        assert_eq!(response.expect("request").status(), 200, "the benchmark must not lose data");
        latencies.push(sent.elapsed());
    }
    latencies
}

async fn run(scenario: Scenario) {
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let store_config = StoreConfig { url: db.url.clone(), max_connections: 4, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&store_config).await.expect("connects");
    store.migrate().await.expect("migrates");
    let config = IngestConfig {
        batch_size: scenario.batch,
        flush_ms: scenario.flush_ms,
        prefetch: scenario.prefetch,
        event_writers: scenario.writers,
        ..IngestConfig::default()
    };
    let amqp = AmqpIngestConfig { url: vhost.url(), connect_timeout: Duration::from_secs(5) };
    let ingest = Ingest::amqp(store.clone(), config, amqp).await.expect("broker");
    let env = Uuid::new_v4();
    let (data, env_data) = (web::Data::new(ingest.clone()), web::Data::new(env));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(env_data.clone())
            .app_data(web::JsonConfig::default().limit(4 << 20))
            .route("/api/public/insight/track", web::post().to(track))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("binds");
    let url = format!("http://{}/api/public/insight/track", server.addrs()[0]);
    actix_web::rt::spawn(server.run());
    let bodies = Arc::new((0..scenario.requests).map(|n| body(env, n)).collect::<Vec<_>>());
    let expected = (scenario.requests * ITEMS_PER_BODY * EVENTS_PER_ITEM) as u64;

    // Act
    let started = Instant::now();
    let clients = (0..scenario.clients).map(|c| client(url.clone(), bodies.clone(), c, scenario.clients));
    let mut latencies: Vec<Duration> = futures_util::future::join_all(clients).await.into_iter().flatten().collect();
    let accepted = started.elapsed();
    let mut polls = tokio::time::interval(Duration::from_millis(100));
    let deadline = Instant::now() + Duration::from_secs(300);
    while events_in(&store, env).await < expected {
        assert!(Instant::now() < deadline, "rows did not arrive");
        polls.tick().await;
    }
    let stored = started.elapsed();

    // Report
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "batch={} flush={}ms writers={} prefetch={} clients={} events={expected}: intake {:.0} ev/s, end-to-end \
         {:.0} ev/s ({:.1} s), track p50 {:.1} ms p99 {:.1} ms, storage lag after last accept {:.2} s",
        scenario.batch,
        scenario.flush_ms,
        scenario.writers,
        scenario.prefetch,
        scenario.clients,
        expected as f64 / accepted.as_secs_f64(),
        expected as f64 / stored.as_secs_f64(),
        stored.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        (stored - accepted).as_secs_f64(),
    );
    assert_eq!(events_in(&store, env).await, expected, "stored rows equal accepted events");
    ingest.shutdown().await;
    vhost.delete();
    db.cleanup().await;
}

#[actix_web::test]
#[ignore = "benchmark: run in release, see the module docs"]
async fn ingest_bench_http_rabbitmq_postgres() {
    for (batch, flush_ms, writers) in [(1_000, 200, 1), (1_000, 200, 2), (1_000, 200, 4), (5_000, 500, 2), (250, 50, 2)]
    {
        run(Scenario { batch, flush_ms, writers, prefetch: 200, clients: 16, requests: 4_000 }).await;
    }
}

/// The storage stage alone: `Events::write` (the statement a writer flush runs) in sequential batches.
#[actix_web::test]
#[ignore = "benchmark: run in release, see the module docs"]
async fn ingest_bench_postgres_batches_only() {
    use vane_actors::ingest::{build, rows::event_row};
    use vane_actors::writer::{Events, sink::Sink};

    let db = TestDb::postgres().await;
    let store_config = StoreConfig { url: db.url.clone(), max_connections: 4, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&store_config).await.expect("connects");
    store.migrate().await.expect("migrates");
    let env = Uuid::new_v4();
    let rows: Vec<_> = (0..2_000)
        .flat_map(|n| {
            let items: Vec<Insight> = serde_json::from_slice(&body(env, n)).expect("parses");
            let user = items[0].user.clone().expect("user");
            items
                .iter()
                .enumerate()
                .flat_map(|(i, item)| build::insight_messages(env, &user, item, i))
                .collect::<Vec<_>>()
        })
        .map(|m| event_row(m).expect("row"))
        .collect();
    for batch in [1_000, 5_000] {
        let started = Instant::now();
        let chunk_rows: Vec<_> =
            rows.iter().map(|r| vane_actors::writer::sink::EventRow { id: Uuid::new_v4(), ..r.clone() }).collect();
        for chunk in chunk_rows.chunks(batch) {
            Events::write(store.connection(), chunk).await.expect("writes");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "postgres events, batch {batch}: {:.0} rows/s ({} rows in {secs:.1} s)",
            rows.len() as f64 / secs,
            rows.len()
        );
    }
    db.cleanup().await;
}
