//! Report benchmark client: asks for each report page (programme, theme, cohort, session; the
//! HTML page and the JSON API) of the programme `samling bench-seed-report` made, one request
//! after another as its admin, and prints one JSON line per page: p50, p99 and max latency.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use hdrhistogram::Histogram;
use serde::Deserialize;

#[derive(Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    base_url: String,
    /// The seed file of `samling bench-seed-report`.
    #[arg(long)]
    seed: PathBuf,
    /// Timed requests per page.
    #[arg(long, default_value_t = 50)]
    requests: usize,
    /// Untimed requests per page first, so caches are as they are in use.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
}

#[derive(Deserialize)]
struct Seed {
    admin_token: String,
    programme_id: i32,
    theme_id: i32,
    cohort_id: i32,
    session_id: i32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed: Seed = serde_json::from_slice(&std::fs::read(&args.seed)?)?;
    let client = reqwest::Client::new();
    let scopes = [
        ("programme", format!("programmes/{}", seed.programme_id)),
        ("theme", format!("themes/{}", seed.theme_id)),
        ("cohort", format!("cohorts/{}", seed.cohort_id)),
        ("session", format!("sessions/{}", seed.session_id)),
    ];
    for (scope, path) in &scopes {
        for (kind, url) in [
            ("page", format!("{}/reports/{path}", args.base_url)),
            ("api", format!("{}/api/v1/reports/{path}", args.base_url)),
        ] {
            let mut latency_us = Histogram::<u64>::new(3)?;
            let mut bytes = 0;
            for n in 0..(args.warmup + args.requests) {
                let started = Instant::now();
                let response = client.get(&url).bearer_auth(&seed.admin_token).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                let elapsed = started.elapsed();
                anyhow::ensure!(
                    status.is_success(),
                    "{url} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                if n >= args.warmup {
                    latency_us.record(elapsed.as_micros().max(1) as u64)?;
                    bytes = body.len();
                }
            }
            let ms = |us: u64| us as f64 / 1000.0;
            println!(
                "{}",
                serde_json::json!({
                    "scope": scope,
                    "kind": kind,
                    "requests": args.requests,
                    "bytes": bytes,
                    "p50_ms": ms(latency_us.value_at_quantile(0.50)),
                    "p99_ms": ms(latency_us.value_at_quantile(0.99)),
                    "max_ms": ms(latency_us.max()),
                })
            );
        }
    }
    Ok(())
}
