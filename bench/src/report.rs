//! The realtime benchmark's report: the JSON lines `bench-load` printed, turned into Markdown.
//! Per database and body, the targets with Samling beside both ceilings (the
//! protocol-level and the transport-level bare server, measured in the same script run), the
//! rate sweeps behind the peaks step by step, and the per-scenario details. Medians over the runs.

use std::fmt::Write;

use serde_json::Value;

use crate::sweep::{GENERATOR_BUSY_PCT, PEAK_P99_MS, Step};

/// What a figure is compared with.
enum Goal {
    Below(f64),
    /// The peak, at least this share of the transport-level ceiling (per database).
    ShareOfTransport {
        sqlite: f64,
        postgres: f64,
    },
}

/// A scenario's headline figure and the target for it.
struct Headline {
    label: &'static str,
    title: &'static str,
    field: &'static str,
    unit: &'static str,
    goal: Goal,
}

const HEADLINES: [Headline; 5] = [
    Headline {
        label: "a",
        title: "(a) 1 thread, 1,000 subscribers, 10 posts/s: p50",
        field: "p50_ms",
        unit: "ms",
        goal: Goal::Below(15.0),
    },
    Headline {
        label: "b",
        title: "(b) 1,000 subscribers, 100 posts/s: p99",
        field: "p99_ms",
        unit: "ms",
        goal: Goal::Below(50.0),
    },
    Headline {
        label: "c",
        title: "(c) 5,000 clients in 100 cohorts of 50, 1,000 posts/s: p99",
        field: "p99_ms",
        unit: "ms",
        goal: Goal::Below(50.0),
    },
    Headline {
        label: "d",
        title: "(d) peak deliveries/s (open-loop sweep into 1,000 subscribers)",
        field: "peak_delivered_per_s",
        unit: "msg/s",
        goal: Goal::ShareOfTransport {
            sqlite: 0.6,
            postgres: 0.4,
        },
    },
    Headline {
        label: "e",
        title: "(e) server memory per idle connection",
        field: "kib_per_connection",
        unit: "KiB",
        goal: Goal::Below(16.0),
    },
];

/// Per-run figures shown in the detail table (medians, except the sums below).
const DETAILS: [&str; 12] = [
    "p50_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_pct",
    "server_core_pct",
    "generator_cpu_pct",
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

/// Which server a line measured: a ceiling (per body) or Samling (per database and body).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    target: String,
    backend: Option<String>,
    body: String,
}

impl Server {
    fn of(run: &Value) -> Self {
        let target = run["target"].as_str().unwrap_or("").to_string();
        // Lines from before these fields: Samling ran on SQLite, every post was "Lorem ipsum".
        let backend = (target == "samling").then(|| run["backend"].as_str().unwrap_or("sqlite").to_string());
        Self {
            target,
            backend,
            body: run["body"].as_str().unwrap_or("plain").to_string(),
        }
    }

    fn ceiling(target: &str, body: &str) -> Self {
        Self {
            target: target.to_string(),
            backend: None,
            body: body.to_string(),
        }
    }

    fn title(&self) -> String {
        match (self.target.as_str(), &self.backend) {
            ("bare", _) => "protocol-level bare".to_string(),
            ("transport", _) => "transport-level bare".to_string(),
            (_, Some(backend)) => format!("Samling, {}", backend_title(backend)),
            (target, None) => target.to_string(),
        }
    }
}

fn backend_title(backend: &str) -> String {
    match backend {
        "sqlite" => "SQLite".to_string(),
        "postgres" => "PostgreSQL".to_string(),
        other => other.to_string(),
    }
}

struct Runs<'a> {
    lines: &'a [Value],
}

impl Runs<'_> {
    fn of<'b>(&'b self, label: &'b str, server: &'b Server) -> impl Iterator<Item = &'b Value> + 'b {
        self.lines
            .iter()
            .filter(move |run| run["label"] == label && Server::of(run) == *server)
    }

    fn values(&self, label: &str, server: &Server, field: &str) -> Vec<f64> {
        self.of(label, server).filter_map(|run| run[field].as_f64()).collect()
    }

    /// The sweep's peak per run; a run where no step qualified counts as 0.
    fn peaks(&self, server: &Server) -> Vec<f64> {
        self.of("d", server)
            .filter(|run| run["mode"] == "sweep")
            .map(|run| run["peak_delivered_per_s"].as_f64().unwrap_or(0.0))
            .collect()
    }

    fn headline(&self, headline: &Headline, server: &Server) -> Option<f64> {
        if headline.label == "d" {
            median(self.peaks(server))
        } else {
            median(self.values(headline.label, server, headline.field))
        }
    }

    /// Whether the generator's core was above 90 % in some run of this figure.
    fn generator_busy(&self, label: &str, server: &Server) -> bool {
        let field = if label == "d" {
            "peak_generator_busy"
        } else {
            "generator_busy"
        };
        self.of(label, server).any(|run| run[field] == true)
    }

    /// Samling's database and body pairs, SQLite first, the realistic body first.
    fn samlings(&self) -> Vec<Server> {
        let mut found: Vec<Server> = Vec::new();
        for run in self.lines {
            let server = Server::of(run);
            if server.target == "samling" && !found.contains(&server) {
                found.push(server);
            }
        }
        found.sort_by_key(|server| (backend_rank(server.backend.as_deref()), body_rank(&server.body)));
        found
    }

    /// Every server with a sweep, ceilings first.
    fn swept(&self) -> Vec<Server> {
        let mut found: Vec<Server> = Vec::new();
        for run in self.lines.iter().filter(|run| run["mode"] == "sweep") {
            let server = Server::of(run);
            if !found.contains(&server) {
                found.push(server);
            }
        }
        found.sort_by_key(|server| {
            (
                target_rank(&server.target),
                backend_rank(server.backend.as_deref()),
                body_rank(&server.body),
            )
        });
        found
    }
}

fn target_rank(target: &str) -> usize {
    ["bare", "transport", "samling"]
        .iter()
        .position(|known| *known == target)
        .unwrap_or(3)
}

fn backend_rank(backend: Option<&str>) -> usize {
    match backend {
        Some("sqlite") => 0,
        Some("postgres") => 1,
        _ => 2,
    }
}

fn body_rank(body: &str) -> usize {
    usize::from(body != "realistic")
}

/// The report's Markdown, from the JSON lines of every run.
pub fn render(lines: &[Value]) -> String {
    let runs = Runs { lines };
    let mut out = String::new();
    let samlings = runs.samlings();
    let mut flagged = false;
    for samling in &samlings {
        let bare = Server::ceiling("bare", &samling.body);
        let transport = Server::ceiling("transport", &samling.body);
        let _ = writeln!(
            out,
            "## {}, {} bodies\n",
            backend_title(samling.backend.as_deref().unwrap_or("")),
            samling.body
        );
        out.push_str("| Scenario | Target | Protocol-level bare | Transport-level bare | Samling | Samling / protocol | Samling / transport | Target met |\n");
        out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for headline in &HEADLINES {
            let servers = [&bare, &transport, samling];
            let [bare_figure, transport_figure, samling_figure] = servers.map(|server| runs.headline(headline, server));
            let cells = servers.map(|server| {
                let busy = runs.generator_busy(headline.label, server);
                flagged |= busy;
                let value = runs.headline(headline, server);
                format!("{}{}", figure(value, headline.unit), if busy { " †" } else { "" })
            });
            let (target, met) = match headline.goal {
                Goal::Below(limit) => (
                    format!("< {} {}", number(limit), headline.unit),
                    samling_figure.map(|value| value < limit),
                ),
                Goal::ShareOfTransport { sqlite, postgres } => {
                    let share = if samling.backend.as_deref() == Some("postgres") {
                        postgres
                    } else {
                        sqlite
                    };
                    (
                        format!("≥ {share}× transport"),
                        samling_figure
                            .zip(transport_figure)
                            .map(|(samling, transport)| samling >= share * transport),
                    )
                }
            };
            let _ = writeln!(
                out,
                "| {} | {target} | {} | {} | {} | {} | {} | {} |",
                headline.title,
                cells[0],
                cells[1],
                cells[2],
                ratio(samling_figure, bare_figure),
                ratio(samling_figure, transport_figure),
                match met {
                    Some(true) => "met",
                    Some(false) => "**not met**",
                    None => "not measured",
                }
            );
        }
        out.push('\n');
    }
    if samlings.is_empty() {
        out.push_str("No Samling runs in these results.\n\n");
    }
    out.push_str(
        "Medians over the runs; each ratio is Samling's median over the median of the bare server \
         measured in the same script run, with the same bodies.",
    );
    if flagged {
        let _ = write!(
            out,
            " † The load generator's core was above {GENERATOR_BUSY_PCT:.0} % in at least one of these runs: \
             the figure may be the generator's limit rather than the server's. Both sides spend more CPU per \
             message at low rates (less batching), so read the sweep's steps: a step the generator limits has \
             the generator near 100 % and the server's core below it."
        );
    }
    out.push_str("\n\n");
    render_sweeps(&runs, &mut out);
    render_details(&runs, &mut out);
    out
}

fn render_sweeps(runs: &Runs<'_>, out: &mut String) {
    let swept = runs.swept();
    if swept.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Peaks: open-loop rate sweeps (d)\n\n\
         1,000 subscribers in one cohort; the post rate is stepped up until a step's p99 passes the stop \
         limit or a post is refused or a delivery lost. The peak is the deliveries per second of the \
         highest rate whose p99 stays under {} ms with nothing lost (0 when no step does).\n",
        number(PEAK_P99_MS)
    );
    out.push_str("| Server | Body | Peak per run (deliveries/s at posts/s) | Median peak | / protocol-level | / transport-level |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | ---: |\n");
    for server in &swept {
        let per_run: Vec<String> = runs
            .of("d", server)
            .filter(|run| run["mode"] == "sweep")
            .map(
                |run| match (run["peak_delivered_per_s"].as_f64(), run["peak_rate"].as_f64()) {
                    (Some(peak), Some(rate)) => format!(
                        "{} at {}{}",
                        number(peak),
                        number(rate),
                        if run["peak_generator_busy"] == true { " †" } else { "" }
                    ),
                    _ => "none".to_string(),
                },
            )
            .collect();
        let peak = median(runs.peaks(server));
        let [bare, transport] =
            ["bare", "transport"].map(|target| median(runs.peaks(&Server::ceiling(target, &server.body))));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            server.title(),
            server.body,
            per_run.join(" · "),
            figure(peak, ""),
            ratio(peak, bare),
            ratio(peak, transport)
        );
    }
    out.push('\n');
    for server in &swept {
        let _ = writeln!(out, "### Steps: {}, {} bodies\n", server.title(), server.body);
        out.push_str("| posts/s | runs | sent/s | p50 ms | p99 ms | max ms | deliveries/s | lost | server CPU % | server core % | generator CPU % | p99 < 1 s, nothing lost |\n");
        out.push_str("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        let steps: Vec<Vec<Step>> = runs
            .of("d", server)
            .filter_map(|run| serde_json::from_value(run["steps"].clone()).ok())
            .collect();
        let mut rates: Vec<f64> = steps.iter().flatten().map(|step| step.rate).collect();
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        for rate in rates {
            let at: Vec<&Step> = steps.iter().flatten().filter(|step| step.rate == rate).collect();
            let of = |value: fn(&Step) -> Option<f64>| median(at.iter().filter_map(|step| value(step)).collect());
            let busy = at.iter().filter(|step| step.generator_busy()).count();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}{} | {} of {} |",
                number(rate),
                at.len(),
                figure(of(|step| Some(step.posts_per_s)), ""),
                figure(of(|step| Some(step.p50_ms)), ""),
                figure(of(|step| Some(step.p99_ms)), ""),
                figure(of(|step| Some(step.max_ms)), ""),
                figure(of(|step| Some(step.delivered_per_s)), ""),
                number(at.iter().map(|step| step.lost).sum::<u64>() as f64),
                figure(of(|step| step.server_cpu_pct), ""),
                figure(of(|step| step.server_core_pct), ""),
                figure(of(|step| Some(step.generator_cpu_pct)), ""),
                if busy > 0 {
                    format!(" † ({busy})")
                } else {
                    String::new()
                },
                at.iter().filter(|step| step.within(PEAK_P99_MS)).count(),
                at.len()
            );
        }
        out.push('\n');
    }
}

fn render_details(runs: &Runs<'_>, out: &mut String) {
    out.push_str("## Details\n\n");
    out.push_str(
        "Medians over the runs; lost, duplicated, rejected, unanswered, resyncs, errors and disconnected are \
         sums over the runs. Server CPU is the server process's, server core the whole core it is pinned to \
         (the database's processes included), generator CPU the load generator's own, each in % of one core \
         while posting; (d) sums the counts of its steps and gives its generator's busiest step.\n\n",
    );
    let mut header = vec!["Scenario", "Server", "Body", "Runs"];
    header.extend(DETAILS);
    header.extend(SUMMED);
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    let mut servers: Vec<Server> = Vec::new();
    for run in runs.lines {
        let server = Server::of(run);
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    servers.sort_by_key(|server| {
        (
            target_rank(&server.target),
            backend_rank(server.backend.as_deref()),
            body_rank(&server.body),
        )
    });
    for label in ["a", "b", "c", "d"] {
        for server in &servers {
            let count = runs.values(label, server, "posts_sent").len();
            if count == 0 {
                continue;
            }
            let mut cells = vec![
                label.to_string(),
                server.title(),
                server.body.clone(),
                count.to_string(),
            ];
            cells.extend(
                DETAILS
                    .iter()
                    .map(|field| figure(median(runs.values(label, server, field)), "")),
            );
            cells.extend(
                SUMMED
                    .iter()
                    .map(|field| number(runs.values(label, server, field).iter().sum::<f64>())),
            );
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
}

pub fn median(mut values: Vec<f64>) -> Option<f64> {
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

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(value), Some(base)) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "–".to_string(),
    }
}

fn figure(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "–".to_string(),
        Some(value) => format!("{} {unit}", number(value)).trim_end().to_string(),
    }
}

/// Whole numbers with thousands separators (1,311,139), others with two decimals (12.83).
fn number(value: f64) -> String {
    if value.fract() != 0.0 && value.abs() < 1000.0 {
        return format!("{value:.2}");
    }
    let whole = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 { format!("-{grouped}") } else { grouped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open(target: &str, backend: Option<&str>, label: &str, p50: f64, p99: f64, generator: f64) -> Value {
        json!({
            "bench": "realtime", "label": label, "target": target, "backend": backend, "body": "realistic",
            "mode": "open", "posts_sent": 100, "posts_accepted": 100, "p50_ms": p50, "p99_ms": p99,
            "lost": 0, "duplicated": 0, "generator_cpu_pct": generator, "generator_busy": generator > 90.0,
        })
    }

    fn sweep(target: &str, backend: Option<&str>, peaks: &[(f64, f64)]) -> Value {
        let steps: Vec<Step> = peaks
            .iter()
            .map(|&(rate, p99)| Step {
                rate,
                posts_sent: 10,
                posts_accepted: 10,
                p99_ms: p99,
                delivered_per_s: rate * 1_000.0,
                posts_per_s: rate,
                generator_cpu_pct: 50.0,
                ..Step::default()
            })
            .collect();
        let peak = crate::sweep::peak(&steps, PEAK_P99_MS);
        json!({
            "bench": "realtime", "label": "d", "target": target, "backend": backend, "body": "realistic",
            "mode": "sweep", "posts_sent": 30, "steps": steps,
            "peak_rate": peak.map(|step| step.rate),
            "peak_delivered_per_s": peak.map(|step| step.delivered_per_s),
            "peak_generator_busy": false,
        })
    }

    fn idle(target: &str, backend: Option<&str>, kib: f64) -> Value {
        json!({"bench": "realtime", "label": "e", "target": target, "backend": backend, "body": "realistic",
               "mode": "idle", "kib_per_connection": kib})
    }

    fn lines() -> Vec<Value> {
        vec![
            open("bare", None, "a", 4.0, 6.0, 30.0),
            open("transport", None, "a", 2.0, 3.0, 95.0),
            open("samling", Some("sqlite"), "a", 5.0, 9.0, 40.0),
            open("samling", Some("postgres"), "a", 20.0, 30.0, 40.0),
            sweep("bare", None, &[(500.0, 10.0), (1_000.0, 30.0)]),
            sweep("transport", None, &[(500.0, 5.0), (1_000.0, 8.0), (2_000.0, 20.0)]),
            sweep(
                "samling",
                Some("sqlite"),
                &[(500.0, 10.0), (1_000.0, 400.0), (1_500.0, 2_000.0)],
            ),
            sweep("samling", Some("postgres"), &[(500.0, 1_500.0)]),
            idle("bare", None, 9.0),
            idle("transport", None, 8.0),
            idle("samling", Some("sqlite"), 12.0),
        ]
    }

    #[test]
    fn each_backend_gets_its_targets_beside_both_ceilings() {
        let report = render(&lines());
        assert!(report.contains("## SQLite, realistic bodies"), "{report}");
        assert!(report.contains("## PostgreSQL, realistic bodies"), "{report}");
        assert!(
            report.contains(
                "| (a) 1 thread, 1,000 subscribers, 10 posts/s: p50 | < 15 ms | 4 ms | 2 ms † | 5 ms | 1.25× | 2.50× | met |"
            ),
            "{report}"
        );
        assert!(
            report.contains("| (a) 1 thread, 1,000 subscribers, 10 posts/s: p50 | < 15 ms | 4 ms | 2 ms † | 20 ms | 5.00× | 10.00× | **not met** |"),
            "{report}"
        );
        assert!(
            report.contains("† The load generator's core was above 90 %"),
            "{report}"
        );
    }

    #[test]
    fn the_peak_target_is_a_share_of_the_transport_ceiling_per_database() {
        let report = render(&lines());
        // SQLite: 1,000,000 against 2,000,000 is 0.5×, short of 0.6×.
        assert!(
            report.contains("| ≥ 0.6× transport | 1,000,000 msg/s | 2,000,000 msg/s | 1,000,000 msg/s | 1.00× | 0.50× | **not met** |"),
            "{report}"
        );
        // PostgreSQL: no step under a second, so the peak is 0.
        assert!(
            report.contains(
                "| ≥ 0.4× transport | 1,000,000 msg/s | 2,000,000 msg/s | 0 msg/s | 0.00× | 0.00× | **not met** |"
            ),
            "{report}"
        );
        assert!(
            report.contains("| (b) 1,000 subscribers, 100 posts/s: p99 | < 50 ms | – | – | – | – | – | not measured |"),
            "{report}"
        );
        assert!(
            report.contains(
                "| (e) server memory per idle connection | < 16 KiB | 9 KiB | 8 KiB | 12 KiB | 1.33× | 1.50× | met |"
            ),
            "{report}"
        );
    }

    #[test]
    fn the_sweeps_list_every_step_and_the_peaks_per_run() {
        let report = render(&lines());
        assert!(
            report.contains("| Samling, SQLite | realistic | 1,000,000 at 1,000 | 1,000,000 | 1.00× | 0.50× |"),
            "{report}"
        );
        assert!(
            report.contains("| Samling, PostgreSQL | realistic | none | 0 | 0.00× | 0.00× |"),
            "{report}"
        );
        assert!(
            report.contains("### Steps: Samling, SQLite, realistic bodies"),
            "{report}"
        );
        assert!(
            report.contains("| 1,500 | 1 | 1,500 | 0 | 2,000 | 0 | 1,500,000 | 0 | – | – | 50 | 0 of 1 |"),
            "{report}"
        );
        assert!(
            report.contains("### Steps: transport-level bare, realistic bodies"),
            "{report}"
        );
    }

    #[test]
    fn lines_from_before_backends_and_bodies_read_as_sqlite_and_plain() {
        let old = json!({"label": "a", "target": "samling", "mode": "open", "posts_sent": 10, "p50_ms": 5.5});
        let report = render(&[old]);
        assert!(report.contains("## SQLite, plain bodies"), "{report}");
        assert!(
            report.contains("| a | Samling, SQLite | plain | 1 | 5.50 |"),
            "{report}"
        );
    }

    #[test]
    fn numbers_are_grouped_and_medians_taken() {
        assert_eq!(number(1_311_139.0), "1,311,139");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(12.834), "12.83");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
