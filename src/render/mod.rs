//! Readable forms of results, shared by the terminal, `compare`, the exports
//! and the HTML page: number formats, labels, text and Markdown tables, the
//! charts and the page itself.

pub mod html;
pub mod plot;
pub mod table;

use crate::analysis::change::MetricChange;
use crate::engine::EngineInfo;
use crate::stats::{Estimate, Outliers, Verdict};

/// `99` -> "99", `99.9` -> "99.9", as vLLM names its `pNN_` keys.
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as u64)
    } else {
        format!("{p}")
    }
}

/// `sim (simulated: a model, not a measurement)` or `vllm 0.32.0`.
pub fn engine_label(engine: &EngineInfo) -> String {
    if engine.simulated {
        format!("{} (simulated: a model, not a measurement)", engine.name)
    } else {
        format!("{} {}", engine.name, engine.version)
    }
}

/// `12.34 [12.10, 12.58]`; a bare point (no confidence level) as `12.34`.
pub fn estimate_text(e: &Estimate) -> String {
    let [lo, hi] = e.interval();
    if e.confidence_interval.confidence_level == 0.0 && lo == hi && e.standard_error == 0.0 {
        return format!("{:.2}", e.point_estimate);
    }
    format!("{:.2} [{lo:.2}, {hi:.2}]", e.point_estimate)
}

/// `+9.31% [+9.02%, +9.60%]`.
pub fn change_text(e: &Estimate) -> String {
    let [lo, hi] = e.interval();
    let pct = |x: f64| format!("{:+.2}%", x * 100.0);
    format!("{} [{}, {}]", pct(e.point_estimate), pct(lo), pct(hi))
}

/// `low 0/24, high 8/88`: mild/severe counts below and above the fences.
pub fn outliers_text(o: &Outliers) -> String {
    format!(
        "low {}/{}, high {}/{}",
        o.low_mild, o.low_severe, o.high_mild, o.high_severe
    )
}

/// `improved`, `regressed`, `no_change`: a verdict as result files and
/// `check`'s summary write it.
pub fn verdict_key(verdict: Verdict) -> String {
    verdict.label().replace(' ', "_")
}

/// `p<0.001` or `p=0.034`.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p<0.001".into()
    } else {
        format!("p={p:.3}")
    }
}

/// Why comparisons were skipped, once each, as notes under a table.
pub fn skip_notes<'a>(changes: impl IntoIterator<Item = &'a MetricChange>) -> String {
    let mut reasons: Vec<&str> = changes
        .into_iter()
        .filter_map(|c| c.skipped.as_deref())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    reasons.iter().map(|r| format!("n/a: {r}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ConfidenceInterval;

    fn estimate(point: f64, lo: f64, hi: f64, level: f64) -> Estimate {
        Estimate {
            point_estimate: point,
            confidence_interval: ConfidenceInterval {
                confidence_level: level,
                lower_bound: lo,
                upper_bound: hi,
            },
            standard_error: hi - lo,
        }
    }

    #[test]
    fn estimates_with_and_without_an_interval() {
        assert_eq!(
            estimate_text(&estimate(12.345, 12.1, 12.58, 0.95)),
            "12.35 [12.10, 12.58]"
        );
        assert_eq!(estimate_text(&estimate(7.0, 7.0, 7.0, 0.0)), "7.00");
        assert_eq!(
            change_text(&estimate(0.0931, 0.0902, 0.096, 0.95)),
            "+9.31% [+9.02%, +9.60%]"
        );
        assert_eq!(
            (p_text(0.0004), p_text(0.0341)),
            ("p<0.001".into(), "p=0.034".into())
        );
        assert_eq!(
            (percentile_label(99.0), percentile_label(99.9)),
            ("99".into(), "99.9".into())
        );
    }
}
