//! Validity warnings, in the spirit of MLPerf LoadGen's rules: a result is
//! flagged when it is too small or too short to support what it reports.

/// What a level must reach for its figures to be trusted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidityRules {
    /// Each trial should run at least this long (`--min-duration`).
    pub min_duration_s: f64,
}

/// Completed requests needed before percentile `p` is more than the slowest
/// request or two: 100 for p99, 1000 for p99.9.
pub fn requests_needed(p: f64) -> usize {
    if p >= 100.0 {
        return usize::MAX;
    }
    // The tolerance keeps 100 / 0.1 from rounding up to 1001.
    (100.0 / (100.0 - p) - 1e-9).ceil() as usize
}

/// Warnings for a level of `completed` requests whose shortest trial ran
/// `shortest_trial_s`, reporting up to percentile `highest_percentile`.
pub fn warnings(
    completed: usize,
    highest_percentile: f64,
    shortest_trial_s: f64,
    rules: &ValidityRules,
) -> Vec<String> {
    let mut out = Vec::new();
    let needed = requests_needed(highest_percentile);
    if highest_percentile < 100.0 && completed < needed {
        out.push(format!(
            "p{highest_percentile} rests on {completed} completed requests (fewer than {needed}): \
             it is little more than the slowest request"
        ));
    }
    if shortest_trial_s < rules.min_duration_s {
        out.push(format!(
            "the run lasted {shortest_trial_s:.2} s, less than the minimum of {} s \
             (--min-duration): too short to trust its throughput and tail",
            rules.min_duration_s
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ValidityRules = ValidityRules {
        min_duration_s: 10.0,
    };

    #[test]
    fn small_runs_behind_a_p99_are_flagged() {
        assert_eq!(requests_needed(99.0), 100);
        assert_eq!(requests_needed(99.9), 1000);
        let w = warnings(99, 99.0, 60.0, &RULES);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("p99 rests on 99 completed requests"), "{w:?}");
        assert!(warnings(100, 99.0, 60.0, &RULES).is_empty());
        assert_eq!(warnings(500, 99.9, 60.0, &RULES).len(), 1);
    }

    #[test]
    fn short_runs_are_flagged() {
        let w = warnings(1000, 99.0, 2.5, &RULES);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("lasted 2.50 s"), "{w:?}");
    }
}
