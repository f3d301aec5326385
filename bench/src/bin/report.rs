//! Turns the JSON lines `bench-load` printed into the realtime benchmark's Markdown report
//! (`samling_bench::report`): medians over the runs, Samling beside both bare ceilings, the
//! issue's targets.

use std::path::PathBuf;

use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Markdown summary of bench-load results (one JSON line per run)")]
struct Args {
    /// The collected JSON lines.
    results: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let lines: Vec<Value> = std::fs::read_to_string(&args.results)?
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    print!("{}", samling_bench::report::render(&lines));
    Ok(())
}
