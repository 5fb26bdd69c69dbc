//! False alarms and power of the trial-level gate, measured on the sim with
//! run-to-run variation (`run_jitter_pct=3`: each trial draws a speed factor).
//!
//! Each pair is two sides of `TRIALS` closed-loop trials each, run
//! interleaved (A B B A A B ...) so that whatever else the machine does falls
//! on both sides alike. A/A pairs run the same setup on both sides; planted
//! pairs make the new side's decode step 10% slower (`step_base_us` and
//! `step_per_seq_us` both x 1.1). Every pair is judged as the gate would:
//! TTFT, TPOT, ITL, E2EL and output throughput (its watched metrics) as one
//! family (`stats::trial_test::compare_family`, Holm-adjusted), with two
//! noise thresholds: the fixed default (2%) and one calibrated on separate
//! A/A trials (`NoiseThreshold::calibrate`, 0.5 x the spread, 1% floor).
//! Today's request-level comparison (`stats::compare` on pooled requests)
//! judges the same pairs, for contrast.
//!
//! `quick_*` runs in CI (a few pairs, loose bounds); the measurements are
//! ignored by default and print their figures:
//!
//! ```sh
//! cargo test --release --test trial_gate -- --ignored --nocapture --test-threads 1
//! ```

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use enginebench::driver::{drive, DriveOptions};
use enginebench::engine::sim::{SimConfig, SimEngine};
use enginebench::engine::Engine;
use enginebench::metrics::{LatencySamples, TrialThroughput};
use enginebench::records::Discard;
use enginebench::schedule::Schedule;
use enginebench::stats::noise::{trials_needed, NoiseSource, NoiseThreshold};
use enginebench::stats::trial_test::{compare_family, Member, TrialVerdict};
use enginebench::stats::trials::variance_components;
use enginebench::stats::{self, BootstrapConfig, Direction, Sample, Thresholds, Verdict};
use enginebench::workload::random::{generate, RandomSpec};
use enginebench::workload::WorkItem;

/// Tests of this file run one at a time: in parallel they would compete
/// with the sim for the cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Trials a side: the default this measurement supports (5 is the fewest
/// with which a family of five metrics can reach p < 0.05; 6 gives power).
const TRIALS: usize = 6;
const REQUESTS: usize = 16;
const CONCURRENCY: usize = 8;
const OUTPUT_TOKENS: u32 = 32;
const STEP_US: f64 = 4_000.0;
const PER_SEQ_US: f64 = 40.0;
const CALIBRATION_TRIALS: usize = 10;

const METRICS: [&str; 5] = ["ttft", "tpot", "itl", "e2el", "output_throughput"];

/// One trial's values of every watched metric.
struct TrialValues {
    ttft: Vec<f64>,
    tpot: Vec<f64>,
    itl: Vec<Vec<f64>>,
    e2el: Vec<f64>,
    output_throughput: f64,
}

impl TrialValues {
    /// Metric `i` of [`METRICS`], as the trial's values (ITL: all its gaps).
    fn values(&self, i: usize) -> Vec<f64> {
        match i {
            0 => self.ttft.clone(),
            1 => self.tpot.clone(),
            2 => self.itl.concat(),
            3 => self.e2el.clone(),
            _ => vec![self.output_throughput],
        }
    }
}

fn workload() -> Vec<WorkItem> {
    let spec = RandomSpec {
        input_len: 64,
        output_len: OUTPUT_TOKENS,
        range_ratio: 0.0,
        vocab_lo: 0,
        vocab_hi: 32_000,
        prefix_len: 0,
    };
    generate(&spec, REQUESTS, 7)
}

/// A sim with `jitter_pct` run jitter and a decode step `slowdown` times the base one.
fn sim(seed: u64, slowdown: f64, jitter_pct: f64) -> SimEngine {
    let pairs: Vec<(String, String)> = [
        ("step_base_us", (STEP_US * slowdown).to_string()),
        ("step_per_seq_us", (PER_SEQ_US * slowdown).to_string()),
        ("prefill_us_per_token", "5".to_string()),
        ("run_jitter_pct", jitter_pct.to_string()),
        ("seed", seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    SimEngine::new(SimConfig::default().with_args(&pairs).unwrap())
}

/// One closed-loop trial: a new speed factor, then the requests.
fn trial(engine: &mut SimEngine, items: &[WorkItem]) -> TrialValues {
    engine.reset_prefix_cache().unwrap();
    let schedule = Schedule::all_at_once(items.len(), Some(CONCURRENCY));
    let stop = AtomicBool::new(false);
    let options = DriveOptions::ignoring_eos();
    let outcome = drive(engine, items, &schedule, &options, &mut Discard, &stop);
    assert!(outcome.fatal_error.is_none() && !outcome.interrupted);
    let latencies = LatencySamples::of(&outcome.records);
    assert_eq!(latencies.completed(), items.len());
    TrialValues {
        ttft: latencies.ttft_ms,
        tpot: latencies.tpot_ms,
        itl: latencies.itl_ms,
        e2el: latencies.e2el_ms,
        output_throughput: TrialThroughput::of(&outcome.records).output_throughput,
    }
}

/// Pair `index`: base and new trials, interleaved A B B A A B ...
fn run_pair(index: u64, slowdown: f64, items: &[WorkItem]) -> [Vec<TrialValues>; 2] {
    let mut engines = [sim(2 * index, 1.0, 3.0), sim(2 * index + 1, slowdown, 3.0)];
    let mut sides = [Vec::new(), Vec::new()];
    for k in 0..2 * TRIALS {
        let side = [0, 1, 1, 0][k % 4];
        sides[side].push(trial(&mut engines[side], items));
    }
    sides
}

fn direction(metric: usize) -> Direction {
    if metric == 4 {
        Direction::HigherIsBetter
    } else {
        Direction::LowerIsBetter
    }
}

fn config(seed: u64) -> BootstrapConfig {
    BootstrapConfig {
        resamples: 2_000,
        confidence_level: 0.95,
        seed,
    }
}

/// Metric `m` of every trial of a side, one list per trial.
fn per_trial(side: &[TrialValues], m: usize) -> Vec<Vec<f64>> {
    side.iter().map(|t| t.values(m)).collect()
}

/// The trial-level verdicts of the five watched metrics as one family, at
/// the noise threshold each metric is given.
fn judge(sides: &[Vec<TrialValues>; 2], noise: &[f64; 5], seed: u64) -> [TrialVerdict; 5] {
    let columns: Vec<[Vec<Vec<f64>>; 2]> = (0..5)
        .map(|m| [per_trial(&sides[0], m), per_trial(&sides[1], m)])
        .collect();
    let members: Vec<Member<Vec<f64>>> = columns
        .iter()
        .enumerate()
        .map(|(m, [base, new])| Member {
            base,
            new,
            direction: direction(m),
            noise: noise[m],
        })
        .collect();
    let family = compare_family(&members, 0.05, &config(seed));
    std::array::from_fn(|m| family[m].as_ref().expect("both sides measured").verdict)
}

/// Today's request-level verdict of each latency metric (requests pooled
/// over trials, ITL grouped by request), at the fixed 2%.
fn judge_by_requests(sides: &[Vec<TrialValues>; 2], seed: u64) -> [Verdict; 4] {
    std::array::from_fn(|m| {
        let pooled = |side: &[TrialValues]| match m {
            2 => Sample::grouped(side.iter().flat_map(|t| t.itl.iter())),
            _ => Sample::new(side.iter().flat_map(|t| t.values(m)).collect()),
        };
        let (a, b) = (pooled(&sides[0]), pooled(&sides[1]));
        let c = stats::two_sample(&a, &b, direction(m), &Thresholds::default(), &config(seed));
        c.expect("both sides measured").verdict
    })
}

/// Noise thresholds and spreads from `CALIBRATION_TRIALS` trials of one engine.
fn calibrate(items: &[WorkItem], jitter_pct: f64) -> ([f64; 5], [f64; 5]) {
    let mut engine = sim(999_999, 1.0, jitter_pct);
    let trials: Vec<TrialValues> = (0..CALIBRATION_TRIALS)
        .map(|_| trial(&mut engine, items))
        .collect();
    let mut spreads = [0.0; 5];
    let thresholds = std::array::from_fn(|m| {
        let t = NoiseThreshold::calibrate(
            &per_trial(&trials, m),
            NoiseThreshold::DEFAULT_MULTIPLE,
            NoiseThreshold::DEFAULT_FLOOR,
        )
        .unwrap();
        if let NoiseSource::Calibrated {
            relative_spread, ..
        } = t.source
        {
            spreads[m] = relative_spread;
        }
        t.value
    });
    if let Some(v) = variance_components(&per_trial(&trials, 1)) {
        println!(
            "  TPOT variance components ({jitter_pct}% jitter): between-trial sd {:.4} ms, \
             within {:.4} ms, ICC {:.2}, design effect {:.1}",
            v.between_trial_sd, v.within_trial_sd, v.intraclass_correlation, v.design_effect
        );
    }
    (thresholds, spreads)
}

/// What a measurement counted, [fixed, calibrated] where there are two.
#[derive(Default)]
struct Tally {
    pairs: usize,
    /// Per metric, verdicts other than "no change".
    flagged: [[usize; 5]; 2],
    /// Pairs where any watched metric regressed: `check` would exit 1.
    any_regressed: [usize; 2],
    /// Pairs where any watched metric regressed or improved.
    any_flagged: [usize; 2],
    /// TPOT reported regressed.
    tpot_regressed: [usize; 2],
    /// Request-level verdicts other than "no change", per latency metric,
    /// and pairs where any latency regressed by them.
    by_requests: [usize; 4],
    by_requests_any_regressed: usize,
}

fn measure(pairs: u64, slowdown: f64, first_pair: u64, calibrated: &[f64; 5]) -> Tally {
    let items = workload();
    let fixed = [Thresholds::default().noise; 5];
    let mut tally = Tally::default();
    for p in first_pair..first_pair + pairs {
        let sides = run_pair(p, slowdown, &items);
        for (k, noise) in [&fixed, calibrated].into_iter().enumerate() {
            let verdicts = judge(&sides, noise, p);
            for (m, v) in verdicts.iter().enumerate() {
                tally.flagged[k][m] += usize::from(*v != TrialVerdict::NoChange);
            }
            let any = |f: fn(&TrialVerdict) -> bool| usize::from(verdicts.iter().any(f));
            tally.any_regressed[k] += any(|v| *v == TrialVerdict::Regressed);
            tally.any_flagged[k] += any(|v| *v != TrialVerdict::NoChange);
            tally.tpot_regressed[k] += usize::from(verdicts[1] == TrialVerdict::Regressed);
        }
        let old = judge_by_requests(&sides, p);
        for (m, v) in old.iter().enumerate() {
            tally.by_requests[m] += usize::from(*v != Verdict::NoChange);
        }
        tally.by_requests_any_regressed += usize::from(old.contains(&Verdict::Regressed));
        tally.pairs += 1;
    }
    tally
}

fn report(label: &str, tally: &Tally) {
    println!("{label}: {} pairs of {TRIALS} trials a side", tally.pairs);
    for (k, noise) in ["fixed 2%", "calibrated"].iter().enumerate() {
        println!(
            "  {noise:>10}: flagged per metric {:?}; any regressed {}; any flagged {}; TPOT regressed {}",
            tally.flagged[k], tally.any_regressed[k], tally.any_flagged[k], tally.tpot_regressed[k]
        );
    }
    println!(
        "  request-level (today's gate): flagged per latency metric {:?}; any regressed {}",
        tally.by_requests, tally.by_requests_any_regressed
    );
}

/// CI: 4 A/A pairs with at most one regressed (on any watched metric, either
/// threshold), and a 10% slower decode step found in at least 1 of 2 pairs.
/// Loose on purpose: it runs on busy machines; the figures come from
/// `false_alarm_rate_and_power_on_the_jittery_sim`.
#[test]
fn quick_false_alarms_and_power_on_the_jittery_sim() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (calibrated, _) = calibrate(&workload(), 3.0);
    let aa = measure(4, 1.0, 0, &calibrated);
    report("A/A", &aa);
    assert!(
        aa.any_regressed.iter().all(|&n| n <= 1),
        "A/A regressed: {:?}",
        aa.any_regressed
    );
    let planted = measure(2, 1.1, 1_000, &calibrated);
    report("planted 10%", &planted);
    assert!(
        planted.tpot_regressed.iter().all(|&n| n >= 1),
        "TPOT regressed in {:?} of 2",
        planted.tpot_regressed
    );
}

/// The measurement: 40 A/A pairs with at most 5% of them regressed on any
/// watched metric, and TPOT regressed in at least 90% of 40 planted pairs.
#[test]
#[ignore = "about five minutes; run with --release -- --ignored --nocapture to measure"]
fn false_alarm_rate_and_power_on_the_jittery_sim() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let items = workload();
    let (_, machine) = calibrate(&items, 0.0);
    println!("spread with no jitter (the machine's own) {machine:.4?} ({METRICS:?})");
    let (calibrated, spreads) = calibrate(&items, 3.0);
    println!("spread with 3% jitter {spreads:.4?}, calibrated thresholds {calibrated:.4?}");
    let aa = measure(40, 1.0, 0, &calibrated);
    report("A/A", &aa);
    let planted = measure(40, 1.1, 1_000, &calibrated);
    report("planted 10%", &planted);
    for k in 0..2 {
        assert!(
            aa.any_regressed[k] * 20 <= aa.pairs,
            "A/A regressed: {:?}",
            aa.any_regressed
        );
        assert!(
            planted.tpot_regressed[k] * 10 >= planted.pairs * 9,
            "TPOT regressed: {:?}",
            planted.tpot_regressed
        );
    }
}

/// Power against a 10% change, by spread and trials a side, from the
/// statistics alone (one value per trial, log-normal spread): regressed in
/// how many of 1000 pairs, at the fixed 2% and at calibrated thresholds of
/// 0.5 and 1 x the spread (measured on 10 other trials, 1% floor), with a
/// family of five metrics (Holm). This is what the defaults were chosen on.
#[test]
#[ignore = "a measurement for docs/statistics-model.md; run with --release -- --ignored --nocapture"]
fn power_by_spread_and_trials() {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for spread in [0.01, 0.03, 0.04, 0.05] {
        // A family of five at 0.05 is planned at 0.05 / 5 for its first test.
        let planned = trials_needed(spread, 0.10, 0.02, 0.01, 0.9);
        println!(
            "spread {:.0}%: trials_needed for 90% power at the fixed 2%: {planned:?}",
            spread * 100.0
        );
    }
    let reps = 1_000u64;
    for trials in [4usize, 5, 6, 8] {
        for spread in [0.01, 0.03, 0.04, 0.05] {
            let mut found = [0u64; 3];
            for rep in 0..reps {
                let mut rng = ChaCha8Rng::seed_from_u64(rep);
                let shift: Normal<f64> = Normal::new(0.0, spread).unwrap();
                let mut side = |scale: f64, n: usize| -> Vec<Vec<f64>> {
                    (0..n)
                        .map(|_| vec![scale * shift.sample(&mut rng).exp()])
                        .collect()
                };
                let (base, new, calibration) =
                    (side(100.0, trials), side(110.0, trials), side(100.0, 10));
                for (k, multiple) in [None, Some(0.5), Some(1.0)].into_iter().enumerate() {
                    let noise = multiple.map_or(0.02, |m| {
                        NoiseThreshold::calibrate(&calibration, m, NoiseThreshold::DEFAULT_FLOOR)
                            .unwrap()
                            .value
                    });
                    let member = Member {
                        base: &base,
                        new: &new,
                        direction: Direction::LowerIsBetter,
                        noise,
                    };
                    // A family of five: the other four are the same comparison,
                    // as TPOT, ITL, E2EL and throughput move together.
                    let family = compare_family(&[member; 5], 0.05, &config(rep));
                    let regressed = family[0].as_ref().unwrap().verdict == TrialVerdict::Regressed;
                    found[k] += u64::from(regressed);
                }
            }
            let share = found.map(|f| f as f64 / reps as f64);
            println!(
                "{trials} trials, spread {:.0}%: power fixed 2% {:.3}, 0.5 x spread {:.3}, 1 x spread {:.3}",
                spread * 100.0,
                share[0],
                share[1],
                share[2]
            );
        }
    }
}

/// Coverage of four kinds of 95% interval for the mean on two-level data
/// (trial shift N(0, 3%), 50 requests a trial with request noise N(0, 20%),
/// or N(0, 2%) so that the shift dominates as it does for the sim's TPOT),
/// 1000 seeded repetitions each at 3, 5 and 10 trials: the t interval over
/// trials, the two-stage bootstrap (trials, then requests within them), the
/// bootstrap of trials alone, and today's bootstrap of pooled requests.
#[test]
#[ignore = "a measurement for docs/statistics-model.md; run with --release -- --ignored --nocapture"]
fn interval_methods_on_two_level_data() {
    use enginebench::stats::trials::between_trials;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mu, reps, resamples) = (100.0, 1_000u64, 1_000);
    let percentile = |mut d: Vec<f64>| {
        d.sort_by(f64::total_cmp);
        let at = |q: f64| stats::percentile_sorted(&d, q);
        (at(2.5), at(97.5))
    };
    for (request_noise, trials) in [
        (0.2, 3usize),
        (0.2, 5),
        (0.2, 10),
        (0.02, 3),
        (0.02, 5),
        (0.02, 10),
    ] {
        let mut hits = [0u64; 4];
        for rep in 0..reps {
            let mut rng = ChaCha8Rng::seed_from_u64(rep);
            let shift = Normal::new(0.0, 0.03).unwrap();
            let noise = Normal::new(0.0, request_noise * mu).unwrap();
            let data: Vec<Vec<f64>> = (0..trials)
                .map(|_| {
                    let level = mu * (1.0 + shift.sample(&mut rng));
                    (0..50).map(|_| level + noise.sample(&mut rng)).collect()
                })
                .collect();
            let t = between_trials(&data, 0.95).unwrap().mean.estimate;
            let (mut two_stage, mut top) = (Vec::new(), Vec::new());
            for _ in 0..resamples {
                let (mut sum2, mut sum1, mut n) = (0.0, 0.0, 0usize);
                for _ in 0..trials {
                    let chosen = &data[rng.random_range(0..trials)];
                    sum1 += chosen.iter().sum::<f64>();
                    sum2 += (0..chosen.len())
                        .map(|_| chosen[rng.random_range(0..chosen.len())])
                        .sum::<f64>();
                    n += chosen.len();
                }
                two_stage.push(sum2 / n as f64);
                top.push(sum1 / n as f64);
            }
            let pooled = Sample::new(data.concat());
            let c = BootstrapConfig {
                resamples,
                confidence_level: 0.95,
                seed: rep,
            };
            let requests = stats::estimates(&pooled, &c).unwrap().mean;
            let intervals = [
                (
                    t.confidence_interval.lower_bound,
                    t.confidence_interval.upper_bound,
                ),
                percentile(two_stage),
                percentile(top),
                (
                    requests.confidence_interval.lower_bound,
                    requests.confidence_interval.upper_bound,
                ),
            ];
            for (hit, (lo, hi)) in hits.iter_mut().zip(intervals) {
                *hit += u64::from(lo <= mu && mu <= hi);
            }
        }
        let share = hits.map(|h| h as f64 / reps as f64);
        println!(
            "request noise {:.0}%, {trials} trials: coverage t over trials {:.3}, \
             two-stage bootstrap {:.3}, trials-only bootstrap {:.3}, pooled requests {:.3}",
            request_noise * 100.0,
            share[0],
            share[1],
            share[2],
            share[3]
        );
        assert!(
            (0.93..=0.97).contains(&share[0]),
            "t over trials {}",
            share[0]
        );
    }
}
