//! The socket flood: one signed-in member's websocket sends two-byte frames as fast as it can
//! and never reads, while the server's resident memory (VmRSS) and its `/healthz` latency are
//! watched. With `--reconnect`, a socket the server closes is replaced at once, for the whole
//! flood. Run by `tests/flood-socket.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use samling_bench::vm_rss_kib;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Binary frames of two bytes.
    Binary,
    /// Text frames of two bytes (`{}`, which is no message the server knows).
    Text,
}

#[derive(Parser)]
#[command(about = "Floods one Samling websocket without reading it; reports the server's memory and /healthz latency")]
struct Args {
    /// host:port of the server.
    #[arg(long)]
    addr: String,
    /// The JSON written by `samling bench-seed`: the first member's token is used.
    #[arg(long)]
    seed: PathBuf,
    /// The server process, whose VmRSS is read.
    #[arg(long)]
    server_pid: u32,
    #[arg(long, value_enum, default_value = "binary")]
    kind: Kind,
    /// Seconds of flooding.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Open a new socket whenever the server closes one, until the flood ends.
    #[arg(long)]
    reconnect: bool,
    /// Seconds after the flood before the server's memory is read once more.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// The flood stops early when the server's VmRSS passes this many MiB, so that a build
    /// whose memory a flood can grow does not take the machine down.
    #[arg(long, default_value_t = 4096)]
    max_rss_mib: u64,
}

#[derive(Deserialize)]
struct Seed {
    cohorts: Vec<SeedCohort>,
}

#[derive(Deserialize)]
struct SeedCohort {
    members: Vec<SeedMember>,
}

#[derive(Deserialize)]
struct SeedMember {
    token: String,
}

/// What the flooding client saw.
#[derive(Default)]
struct Flood {
    frames: u64,
    connections: u64,
    /// Close code (0: the connection ended without a Close the client could read) → count.
    closes: BTreeMap<u16, u64>,
    /// Milliseconds from opening a socket until sending on it failed.
    open_ms: Vec<u64>,
    refused_upgrades: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed: Seed = serde_json::from_slice(&std::fs::read(&args.seed).context("cannot read --seed")?)?;
    let token = seed
        .cohorts
        .first()
        .and_then(|cohort| cohort.members.first())
        .context("the seed has no member")?
        .token
        .clone();
    let pid = args.server_pid;

    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = vm_rss_kib(pid)?;
    let until = Instant::now() + Duration::from_secs(args.duration);
    let flooding = Arc::new(AtomicBool::new(true));

    let most_rss = Arc::new(AtomicU64::new(before));
    let over_limit = Arc::new(AtomicBool::new(false));
    let watch_memory = tokio::spawn({
        let (flooding, most_rss, over_limit) = (flooding.clone(), most_rss.clone(), over_limit.clone());
        let limit_kib = args.max_rss_mib.saturating_mul(1024);
        async move {
            while flooding.load(Ordering::Relaxed) {
                if let Ok(rss) = vm_rss_kib(pid) {
                    most_rss.fetch_max(rss, Ordering::Relaxed);
                    if rss > limit_kib {
                        over_limit.store(true, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let watch_health = tokio::spawn(health_latencies(args.addr.clone(), flooding.clone()));
    let started = Instant::now();
    let flood = flood(&args, &token, until, &over_limit).await?;
    let flooded = started.elapsed();
    flooding.store(false, Ordering::Relaxed);
    let _ = watch_memory.await;
    let health = watch_health.await??;
    let most = most_rss.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let after = vm_rss_kib(pid)?;

    let kind = format!("{:?}", args.kind).to_lowercase();
    let mode = if args.reconnect { "reconnecting" } else { "one socket" };
    let ms = |micros: u64| micros as f64 / 1000.0;
    let stopped_early = over_limit.load(Ordering::Relaxed);
    println!(
        "{kind} flood, {mode}, {:.1} s: {} frames over {} connection(s); closes {:?}; refused upgrades {}",
        flooded.as_secs_f64(),
        flood.frames,
        flood.connections,
        flood.closes,
        flood.refused_upgrades
    );
    if stopped_early {
        println!("  STOPPED EARLY: the server's VmRSS passed {} MiB", args.max_rss_mib);
    }
    if let (Some(first), Some(longest)) = (flood.open_ms.first(), flood.open_ms.iter().max()) {
        println!("  a socket stayed open {first} ms (the first), at most {longest} ms");
    }
    println!(
        "  server VmRSS {} MiB before, {} MiB at most during, {} MiB {} s after",
        before / 1024,
        most / 1024,
        after / 1024,
        args.settle
    );
    println!(
        "  /healthz during the flood: {} answers, median {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed",
        health.latencies.len(),
        ms(health.latencies.value_at_quantile(0.5)),
        ms(health.latencies.value_at_quantile(0.99)),
        ms(health.latencies.max()),
        health.failed
    );
    println!(
        "{}",
        json!({
            "bench": "flood-socket",
            "kind": kind,
            "reconnect": args.reconnect,
            "duration_s": flooded.as_secs_f64(),
            "stopped_over_rss_mib": stopped_early.then_some(args.max_rss_mib),
            "frames": flood.frames,
            "connections": flood.connections,
            "closes": flood.closes,
            "refused_upgrades": flood.refused_upgrades,
            "open_ms_max": flood.open_ms.iter().max(),
            "rss_kib": { "before": before, "max": most, "after": after },
            "healthz_ms": {
                "count": health.latencies.len(),
                "p50": ms(health.latencies.value_at_quantile(0.5)),
                "p99": ms(health.latencies.value_at_quantile(0.99)),
                "max": ms(health.latencies.max()),
                "failed": health.failed,
            },
        })
    );
    Ok(())
}

/// Sends frames until `until` (or until the server's memory is over the limit), never reading,
/// except the Close after sending failed.
async fn flood(args: &Args, token: &str, until: Instant, over_limit: &AtomicBool) -> anyhow::Result<Flood> {
    let frame = match args.kind {
        Kind::Binary => Message::Binary(vec![0, 1].into()),
        Kind::Text => Message::Text("{}".into()),
    };
    let mut seen = Flood::default();
    while Instant::now() < until && !over_limit.load(Ordering::Relaxed) {
        let mut request = format!("ws://{}/api/v1/realtime", args.addr).into_client_request()?;
        request
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
        let socket = match tokio::time::timeout_at(until, tokio_tungstenite::connect_async(request)).await {
            Err(_) => break,
            Ok(Ok((socket, _))) => socket,
            Ok(Err(_)) => {
                seen.refused_upgrades += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        seen.connections += 1;
        let opened = Instant::now();
        let (mut sink, mut stream) = socket.split();
        // True when sending failed; false when the flood ended with the socket open.
        let failed = tokio::time::timeout_at(until, async {
            while !over_limit.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    if sink.feed(frame.clone()).await.is_err() {
                        return true;
                    }
                    seen.frames += 1;
                }
                if sink.flush().await.is_err() {
                    return true;
                }
            }
            false
        })
        .await
        .is_ok_and(|failed| failed);
        if !failed {
            break;
        }
        seen.open_ms.push(opened.elapsed().as_millis() as u64);
        // Sending failed: the server closed the socket. Its code, if it reached us.
        let code = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Close(frame) = message {
                    return frame.map_or(0, |frame| u16::from(frame.code));
                }
            }
            0
        })
        .await
        .unwrap_or(0);
        *seen.closes.entry(code).or_default() += 1;
        if !args.reconnect {
            tokio::time::sleep_until(until).await;
        }
    }
    Ok(seen)
}

struct Health {
    /// Microseconds.
    latencies: Histogram<u64>,
    failed: u64,
}

/// Asks `/healthz` every 100 ms while the flood lasts, on a connection of its own.
async fn health_latencies(addr: String, flooding: Arc<AtomicBool>) -> anyhow::Result<Health> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let url = format!("http://{addr}/healthz");
    let mut health = Health {
        latencies: Histogram::new(3)?,
        failed: 0,
    };
    while flooding.load(Ordering::Relaxed) {
        let started = Instant::now();
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => {
                let _ = response.bytes().await;
                health.latencies.record(started.elapsed().as_micros() as u64)?;
            }
            _ => health.failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(health)
}
