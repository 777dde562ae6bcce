//! A stand-in OTLP/gRPC collector for benchmarks: receives spans on the given address (default
//! 127.0.0.1:4317) and prints how many arrived every 5 s. It is the tests' receiver
//! (`tests/api/helpers/otlp.rs`), so a benchmark with export on pays a real gRPC export.
//!
//! `cargo run --release --example otlp_sink -- 127.0.0.1:4317`

#[path = "../tests/api/helpers/otlp.rs"]
#[allow(dead_code)] // the tests read fields this sink does not
mod otlp;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4317".into());
    let receiver = otlp::OtlpReceiver::start_on(&addr).await;
    eprintln!("OTLP sink on {}", receiver.endpoint);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        eprintln!("spans received: {}", receiver.count());
    }
}
