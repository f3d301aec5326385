//! Turns the JSON lines `bench-load` printed into the Markdown report: medians over the runs,
//! Samling beside the bare ceiling, and the targets.

use std::path::PathBuf;

use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Markdown summary of bench-load results (one JSON line per run)")]
struct Args {
    /// The collected JSON lines.
    results: PathBuf,
}

/// A scenario's headline figure and the target for it.
struct Headline {
    label: &'static str,
    title: &'static str,
    field: &'static str,
    unit: &'static str,
    target: Target,
}

enum Target {
    Below(f64),
    AtLeastHalfOfBare,
}

const HEADLINES: [Headline; 5] = [
    Headline {
        label: "a",
        title: "(a) 1 thread, 1,000 subscribers, 10 posts/s: p50",
        field: "p50_ms",
        unit: "ms",
        target: Target::Below(15.0),
    },
    Headline {
        label: "b",
        title: "(b) 1,000 subscribers, 100 posts/s: p99",
        field: "p99_ms",
        unit: "ms",
        target: Target::Below(50.0),
    },
    Headline {
        label: "c",
        title: "(c) 5,000 clients in 100 cohorts of 50, 1,000 posts/s: p99",
        field: "p99_ms",
        unit: "ms",
        target: Target::Below(50.0),
    },
    Headline {
        label: "d",
        title: "(d) peak delivered messages/s",
        field: "delivered_per_s",
        unit: "msg/s",
        target: Target::AtLeastHalfOfBare,
    },
    Headline {
        label: "e",
        title: "(e) server memory per idle connection",
        field: "kib_per_connection",
        unit: "KiB",
        target: Target::Below(16.0),
    },
];

/// Per-run figures shown in the detail table (medians, except the sums below).
const DETAILS: [&str; 10] = [
    "p50_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_pct",
    "delivered_per_s",
    "posts_per_s",
    "posts_accepted",
    "expected",
    "delivered",
    "connect_s",
];
/// Must be 0 in every run, so they are summed over the runs.
const SUMMED: [&str; 7] = [
    "lost",
    "duplicated",
    "posts_rejected",
    "posts_unanswered",
    "resyncs",
    "errors",
    "disconnected",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runs: Vec<Value> = std::fs::read_to_string(&args.results)?
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let values = |label: &str, target: &str, field: &str| -> Vec<f64> {
        runs.iter()
            .filter(|run| run["label"] == label && run["target"] == target)
            .filter_map(|run| run[field].as_f64())
            .collect()
    };
    println!("| Scenario | Target | Bare (ceiling) | Samling | Samling / bare | Samling meets target |");
    println!("| --- | --- | ---: | ---: | ---: | --- |");
    for headline in &HEADLINES {
        let bare = median(values(headline.label, "bare", headline.field));
        let samling = median(values(headline.label, "samling", headline.field));
        let target = match headline.target {
            Target::Below(limit) => format!("< {limit} {}", headline.unit),
            Target::AtLeastHalfOfBare => "≥ ½ of bare".to_string(),
        };
        let meets = match (&headline.target, samling, bare) {
            (Target::Below(limit), Some(samling), _) => yes_no(samling < *limit),
            (Target::AtLeastHalfOfBare, Some(samling), Some(bare)) => yes_no(samling >= bare / 2.0),
            _ => "not measured".to_string(),
        };
        let ratio = match (samling, bare) {
            (Some(samling), Some(bare)) if bare > 0.0 => format!("{:.2}×", samling / bare),
            _ => "–".to_string(),
        };
        println!(
            "| {} | {target} | {} | {} | {ratio} | {meets} |",
            headline.title,
            figure(bare, headline.unit),
            figure(samling, headline.unit)
        );
    }
    println!();
    println!(
        "Medians over the runs; lost, duplicated, rejected, unanswered, resyncs, errors and disconnected are sums over the runs."
    );
    println!();
    let mut header = vec!["Scenario", "Server", "Runs"];
    header.extend(DETAILS);
    header.extend(SUMMED);
    println!("| {} |", header.join(" | "));
    println!("|{}", " --- |".repeat(header.len()));
    for label in ["a", "b", "c", "d"] {
        for target in ["bare", "samling"] {
            let count = values(label, target, "posts_sent").len();
            if count == 0 {
                continue;
            }
            let mut cells = vec![label.to_string(), target.to_string(), count.to_string()];
            cells.extend(
                DETAILS
                    .iter()
                    .map(|field| figure(median(values(label, target, field)), "")),
            );
            cells.extend(
                SUMMED
                    .iter()
                    .map(|field| values(label, target, field).iter().sum::<f64>().to_string()),
            );
            println!("| {} |", cells.join(" | "));
        }
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

fn figure(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "–".to_string(),
        Some(value) if value.fract() == 0.0 || value >= 1000.0 => format!("{value:.0} {unit}").trim_end().to_string(),
        Some(value) => format!("{value:.2} {unit}").trim_end().to_string(),
    }
}

fn yes_no(ok: bool) -> String {
    if ok { "yes" } else { "**no**" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_runs() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
