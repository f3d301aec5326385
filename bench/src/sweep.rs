//! The open-loop rate sweep behind scenario (d): the post rate stepped up until the server
//! falls behind, and the peak taken from the steps it kept up with.

use serde::{Deserialize, Serialize};

/// The p99 a step may have and still count for the peak.
pub const PEAK_P99_MS: f64 = 1_000.0;

/// Above this share of its core the generator, not the server, may be what limits a step.
pub const GENERATOR_BUSY_PCT: f64 = 90.0;

/// One rate of a sweep, as measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Posts per second asked for.
    pub rate: f64,
    pub posts_sent: u64,
    pub posts_accepted: u64,
    /// Deliveries that never arrived by the end of the step's grace period.
    pub lost: u64,
    pub duplicated: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Deliveries per second while the step was posting.
    pub delivered_per_s: f64,
    /// Posts per second sent: below `rate` when sends fell behind the timetable.
    #[serde(default)]
    pub posts_per_s: f64,
    /// The server process's CPU while posting, in % of one core.
    pub server_cpu_pct: Option<f64>,
    /// How busy the server's core was (the database's processes on it included).
    pub server_core_pct: Option<f64>,
    /// The load generator's own CPU while posting, in % of one core.
    pub generator_cpu_pct: f64,
}

impl Step {
    /// Every post accepted and delivered once to every subscriber.
    pub fn clean(&self) -> bool {
        self.posts_accepted == self.posts_sent && self.lost == 0 && self.duplicated == 0
    }

    /// Whether the step counts for the peak.
    pub fn within(&self, p99_limit_ms: f64) -> bool {
        self.clean() && self.p99_ms < p99_limit_ms
    }

    /// Whether a higher rate is worth trying: past this, the server is clearly behind and the
    /// next step would only start on its backlog.
    pub fn go_on(&self, stop_p99_ms: f64) -> bool {
        self.clean() && self.p99_ms <= stop_p99_ms
    }

    pub fn generator_busy(&self) -> bool {
        self.generator_cpu_pct > GENERATOR_BUSY_PCT
    }
}

/// The step at the highest rate whose p99 stays under `p99_limit_ms` with nothing lost; None
/// when no step does.
pub fn peak(steps: &[Step], p99_limit_ms: f64) -> Option<&Step> {
    steps
        .iter()
        .filter(|step| step.within(p99_limit_ms))
        .max_by(|a, b| a.rate.total_cmp(&b.rate))
}

/// `"100,250,500"` → rates, rising; refuses an empty list, a rate not above 0 or a list that
/// is not rising (the sweep stops at the first step the server cannot keep up with).
pub fn parse_rates(text: &str) -> anyhow::Result<Vec<f64>> {
    let rates = text
        .split([',', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<f64>()
                .map_err(|_| anyhow::anyhow!("{part:?} is not a rate"))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    anyhow::ensure!(!rates.is_empty(), "no rates given");
    anyhow::ensure!(rates.iter().all(|rate| *rate > 0.0), "rates must be above 0");
    anyhow::ensure!(
        rates.windows(2).all(|pair| pair[0] < pair[1]),
        "rates must rise from step to step"
    );
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, p99_ms: f64, lost: u64) -> Step {
        Step {
            rate,
            posts_sent: (rate * 5.0) as u64,
            posts_accepted: (rate * 5.0) as u64,
            lost,
            p99_ms,
            delivered_per_s: rate * 1_000.0,
            ..Step::default()
        }
    }

    #[test]
    fn the_peak_is_the_highest_rate_under_a_second_with_nothing_lost() {
        let steps = [
            step(250.0, 12.0, 0),
            step(500.0, 40.0, 0),
            step(1_000.0, 900.0, 0),
            step(1_500.0, 1_200.0, 0),
        ];
        assert_eq!(peak(&steps, PEAK_P99_MS).map(|step| step.rate), Some(1_000.0));
    }

    #[test]
    fn a_step_with_losses_rejections_or_duplicates_never_is_the_peak() {
        let mut rejected = step(1_000.0, 20.0, 0);
        rejected.posts_accepted -= 1;
        let mut duplicated = step(1_500.0, 20.0, 0);
        duplicated.duplicated = 1;
        let steps = [step(500.0, 20.0, 0), rejected, duplicated, step(2_000.0, 30.0, 4)];
        assert_eq!(peak(&steps, PEAK_P99_MS).map(|step| step.rate), Some(500.0));
        assert!(peak(&steps[1..], PEAK_P99_MS).is_none());
        assert!(peak(&[], PEAK_P99_MS).is_none());
    }

    #[test]
    fn a_later_step_that_passes_again_counts_since_the_sweep_went_on() {
        // 1,000 posts/s had a slow second but the sweep went on (p99 under the stop limit).
        let steps = [step(500.0, 20.0, 0), step(1_000.0, 1_300.0, 0), step(1_500.0, 600.0, 0)];
        assert!(steps[1].go_on(3_000.0));
        assert_eq!(peak(&steps, PEAK_P99_MS).map(|step| step.rate), Some(1_500.0));
    }

    #[test]
    fn the_sweep_stops_after_a_step_far_behind_or_not_clean() {
        assert!(step(500.0, 2_999.0, 0).go_on(3_000.0));
        assert!(!step(500.0, 3_001.0, 0).go_on(3_000.0));
        assert!(!step(500.0, 10.0, 1).go_on(3_000.0));
    }

    #[test]
    fn rates_parse_from_commas_or_spaces_and_must_rise() {
        assert_eq!(parse_rates("100,250 500").unwrap(), vec![100.0, 250.0, 500.0]);
        assert!(parse_rates("").is_err());
        assert!(parse_rates("500,250").is_err());
        assert!(parse_rates("0,250").is_err());
        assert!(parse_rates("fast").is_err());
    }

    #[test]
    fn a_generator_above_ninety_percent_is_flagged() {
        let mut busy = step(500.0, 20.0, 0);
        busy.generator_cpu_pct = 93.0;
        assert!(busy.generator_busy());
        busy.generator_cpu_pct = 90.0;
        assert!(!busy.generator_busy());
    }
}
