//! Search benchmark client: signs in as the seeded members (`samling bench-seed --posts N`) and
//! sends search requests one after another through the real API, recording each request's
//! latency. Prints p50, p99 and max, and the hits per query, as one JSON line.

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
    /// The seed file of `samling bench-seed`.
    #[arg(long)]
    seed: PathBuf,
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Untimed requests first, so caches are as they are in use.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
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

/// Single words (common and rare, in other inflections than the posts may use) and pairs.
const QUERIES: &[&str] = &[
    "matsvinnet",
    "kantine",
    "sykehjemmene",
    "ombruk",
    "arealplanene",
    "myrene",
    "klimabudsjett",
    "målinger",
    "kjøkkenene",
    "anskaffelse",
    "tekstil",
    "ladepunkt",
    "overvannet",
    "kompost",
    "restematen",
    "menyplanlegging",
    "frivillig",
    "barnehager",
    "matsvinn kantine",
    "ombruk byggematerialer",
    "myr arealplan",
    "skolemat plantebasert",
    "utslipp transport",
    "veiing matavfall sykehjem",
];

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed: Seed = serde_json::from_slice(&std::fs::read(&args.seed)?)?;
    let tokens: Vec<&str> = seed
        .cohorts
        .iter()
        .flat_map(|cohort| cohort.members.iter().map(|member| member.token.as_str()))
        .collect();
    anyhow::ensure!(!tokens.is_empty(), "the seed has no members");
    let client = reqwest::Client::new();
    let mut latency_us = Histogram::<u64>::new(3)?;
    let mut hits_total = 0usize;
    for n in 0..(args.warmup + args.queries) {
        let query = QUERIES[n % QUERIES.len()];
        let token = tokens[n % tokens.len()];
        let started = Instant::now();
        let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/search", args.base_url), [("q", query)])?;
        let response = client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(status.is_success(), "search {query:?} answered {status}: {body}");
        if n >= args.warmup {
            latency_us.record(elapsed.as_micros().max(1) as u64)?;
            hits_total += body.as_array().map_or(0, Vec::len);
        }
    }
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "queries": args.queries,
            "p50_ms": ms(latency_us.value_at_quantile(0.50)),
            "p99_ms": ms(latency_us.value_at_quantile(0.99)),
            "max_ms": ms(latency_us.max()),
            "hits_per_query": hits_total as f64 / args.queries as f64,
        })
    );
    Ok(())
}
