//! Large-environment frames (`cargo bench -p vane-actors --bench frames`); results in BENCHMARKS.md.
//!
//! The issue-13 environment: 2,500 string flags and 500 JSON flags with two ~2 KiB variations each. Measures what a
//! client full sync costs to build (evaluate 3,000 flags for one user and serialize them), and what
//! permessage-deflate (RFC 7692, which the node SDK's `ws` client offers) would save and cost: raw DEFLATE with a
//! sync flush per message, as the extension sends it, at levels 1 and 6, on the server full sync, the client full
//! sync, and single-flag patches — each message compressed on its own (`no_context_takeover`, so one compressed
//! frame could be shared by every session) and, for patches, with a compressor kept per session (context takeover).
//!
//! Two variants of the JSON variations: `filler` (`{"variant":n,"filler":"xxxx…"}`, what `vane-bench large`
//! puts in, and compresses unrealistically well) and `varied` (configuration-like objects: words from a small
//! vocabulary, random ids and numbers). Sizes are printed once before the timings.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytestring::ByteString;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, FlushCompress};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;
use vane_actors::snapshot::EnvSnapshot;
use vane_schema::wire::{EndUser, FeatureFlag};

const WORDS: [&str; 24] = [
    "checkout",
    "banner",
    "primary",
    "secondary",
    "enabled",
    "variant",
    "threshold",
    "color",
    "layout",
    "grid",
    "mobile",
    "desktop",
    "price",
    "discount",
    "region",
    "eu",
    "us",
    "apac",
    "title",
    "subtitle",
    "button",
    "timeout",
    "retry",
    "cache",
];

fn flag(i: usize, kind: &str, values: &[String]) -> FeatureFlag {
    let variations: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(n, v)| json!({"id": format!("v{n}"), "name": format!("v{n}"), "value": v}))
        .collect();
    serde_json::from_value(json!({
        "id": Uuid::from_u128(i as u128 + 1), "key": format!("{kind}-{i}"), "name": format!("{kind} {i}"),
        "variationType": kind, "variations": variations, "targetUsers": [], "rules": [], "isEnabled": true,
        "disabledVariationId": "v0",
        "fallthrough": {"dispatchKey": null, "includedInExpt": true, "variations": [{"id": "v0", "rollout": [0, 1]}]},
        "exptIncludeAllTargets": false, "isArchived": false, "updatedAt": "2024-01-02T03:04:05.123Z"
    }))
    .unwrap()
}

/// A configuration-like JSON document of about `bytes` bytes.
fn varied_json(rng: &mut StdRng, bytes: usize) -> String {
    let mut items = Vec::new();
    let mut doc = json!({});
    while doc.to_string().len() < bytes {
        let word = |rng: &mut StdRng| WORDS[rng.random_range(0..WORDS.len())];
        items.push(json!({
            "id": format!("{:016x}", rng.random::<u64>()),
            "label": format!("{} {}", word(rng), word(rng)),
            "weight": (rng.random::<f64>() * 1000.0).round() / 1000.0,
            "enabled": rng.random::<bool>(),
            (word(rng)): rng.random_range(0..10_000),
        }));
        doc = json!({"version": 3, "items": items});
    }
    doc.to_string()
}

/// The 3,000-flag environment; `varied` picks the JSON variant.
fn environment(varied: bool) -> EnvSnapshot {
    let mut rng = StdRng::seed_from_u64(13);
    let strs = ["alpha", "beta", "gamma"].map(String::from);
    let mut flags: Vec<FeatureFlag> = (0..2500).map(|i| flag(i, "string", &strs)).collect();
    for i in 2500..3000 {
        let values: Vec<String> = (0..2)
            .map(|n| {
                if varied {
                    varied_json(&mut rng, 2048)
                } else {
                    json!({"variant": n, "filler": "x".repeat(2008)}).to_string()
                }
            })
            .collect();
        flags.push(flag(i, "json", &values));
    }
    EnvSnapshot::new(Uuid::from_u128(7), &flags, &[])
}

/// One permessage-deflate message body: raw DEFLATE, sync flush, the trailing `00 00 ff ff` removed (RFC 7692 §7.2.1).
fn deflate(compressor: &mut Compress, message: &[u8]) -> usize {
    let mut out = Vec::with_capacity(message.len() + message.len() / 8 + 64);
    let before = compressor.total_in();
    compressor.compress_vec(message, &mut out, FlushCompress::Sync).unwrap();
    assert_eq!((compressor.total_in() - before) as usize, message.len(), "output buffer too small");
    out.len() - 4
}

fn fresh(level: u32) -> Compress {
    Compress::new(Compression::new(level), false)
}

/// Client patches of one flag each, for `user`: what a run of changes pushes to one session.
fn patches(snapshot: &EnvSnapshot, user: &EndUser) -> Vec<ByteString> {
    snapshot.flags().take(100).map(|f| snapshot.client_patch(user, std::slice::from_ref(f))).collect()
}

fn print_sizes(name: &str, snapshot: &EnvSnapshot, user: &EndUser, server: &ByteString, client: &ByteString) {
    for (what, frame) in [("server full sync", server), ("client full sync", client)] {
        let (l1, l6) = (deflate(&mut fresh(1), frame.as_bytes()), deflate(&mut fresh(6), frame.as_bytes()));
        eprintln!("{name}: {what}: {} B raw, level 1 {l1} B, level 6 {l6} B", frame.len());
    }
    let patches = patches(snapshot, user);
    let raw: usize = patches.iter().map(|p| p.len()).sum();
    let alone: usize = patches.iter().map(|p| deflate(&mut fresh(6), p.as_bytes())).sum();
    let mut session = fresh(6);
    let takeover: usize = patches.iter().map(|p| deflate(&mut session, p.as_bytes())).sum();
    let n = patches.len();
    eprintln!(
        "{name}: client patch of one flag, mean of {n}: {} B raw, level 6 alone {} B, with context takeover {} B",
        raw / n,
        alone / n,
        takeover / n
    );
}

fn bench(c: &mut Criterion) {
    let user = EndUser::with_key("bench-user").with_property("plan", "pro");
    for (name, varied) in [("filler", false), ("varied", true)] {
        let snapshot = environment(varied);
        let (server, client) = (snapshot.server_sync(0), snapshot.client_sync(&user, 0));
        print_sizes(name, &snapshot, &user, &server, &client);
        let mut group = c.benchmark_group(format!("frames/{name}"));
        group.sample_size(20);
        group.throughput(Throughput::Bytes(client.len() as u64));
        group.bench_function("client full sync: evaluate + serialize", |b| {
            b.iter(|| snapshot.client_sync(black_box(&user), 0).len())
        });
        for level in [1, 6] {
            group.throughput(Throughput::Bytes(server.len() as u64));
            group.bench_function(format!("deflate server full sync, level {level}"), |b| {
                b.iter(|| deflate(&mut fresh(level), black_box(server.as_bytes())))
            });
            group.throughput(Throughput::Bytes(client.len() as u64));
            group.bench_function(format!("deflate client full sync, level {level}"), |b| {
                b.iter(|| deflate(&mut fresh(level), black_box(client.as_bytes())))
            });
        }
        let patch = snapshot.flags().next().map(|f| snapshot.client_patch(&user, std::slice::from_ref(f))).unwrap();
        group.throughput(Throughput::Bytes(patch.len() as u64));
        group.bench_function("deflate one client patch alone, level 6", |b| {
            b.iter(|| deflate(&mut fresh(6), black_box(patch.as_bytes())))
        });
        let mut session = fresh(6);
        group.bench_function("deflate one client patch, session compressor, level 6", |b| {
            b.iter(|| deflate(&mut session, black_box(patch.as_bytes())))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
