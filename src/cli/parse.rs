//! Parsers of flag values: rates, lists, `KEY=VALUE`, `KEY:MS`. Every
//! number in them is read by [`Bounded`](super::number::Bounded).

use super::number::{int, real, Bounded};
use crate::error::{usage, Error};
use crate::metrics::Slos;
use crate::schedule::RequestRate;

/// A usage error with `message` unless `ok`.
pub(super) fn check(ok: bool, message: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(usage(message))
    }
}

/// Requests per second: from one per 1000 s (arrival gaps stay within what
/// a duration holds) to ten million (beyond any engine, and any clock).
const RATE: Bounded<f64> = real(0.001, 1e7);
/// Most requests in flight at once.
const CONCURRENCY: Bounded<usize> = int(1, 10_000_000);
const PERCENTILE: Bounded<f64> = real(0.0, 100.0);
/// A service-level objective: up to about eleven days, in ms.
const OBJECTIVE_MS: Bounded<f64> = real(0.0, 1e9).above();

/// `10`, `10/s`, `600/min` or `inf`.
pub fn parse_rate(text: &str) -> Result<RequestRate, Error> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("inf") {
        return Ok(RequestRate::Infinite);
    }
    let (number, per_seconds) = match text.split_once('/') {
        None => (text, 1.0),
        Some((n, "s")) => (n, 1.0),
        Some((n, "min")) => (n, 60.0),
        Some((_, unit)) => {
            return Err(usage(format!(
                "--request-rate '{text}': unknown unit '{unit}' (use N, N/s, N/min or inf)"
            )))
        }
    };
    let per_second = number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|n| n / per_seconds)
        .filter(|r| RATE.contains(*r));
    match per_second {
        Some(rate) => Ok(RequestRate::PerSecond(rate)),
        None => Err(usage(format!(
            "--request-rate '{text}': expected requests per second in [0.001, 10000000] \
             (N, N/s or N/min), or inf"
        ))),
    }
}

/// `16,64,128`: each a positive integer.
pub fn parse_concurrency(text: &str) -> Result<Vec<usize>, Error> {
    parse_list(text, "--max-concurrency", |item| {
        CONCURRENCY
            .parse(item)
            .map_err(|_| format!("'{item}' is not a positive integer (at most 10000000)"))
    })
}

pub(super) fn parse_percentile(item: &str) -> Result<f64, String> {
    PERCENTILE
        .parse(item)
        .map_err(|_| format!("'{item}' is not a percentile in [0, 100]"))
}

/// `items` without repeats, first occurrence kept, and a warning naming
/// `flag` when there were some: a repeated metric or percentile would be
/// printed, or counted, twice.
pub(super) fn without_repeats<T: PartialEq + std::fmt::Debug>(
    flag: &str,
    items: Vec<T>,
    warnings: &mut Vec<String>,
) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    let mut repeated = false;
    for item in items {
        if kept.contains(&item) {
            repeated = true;
        } else {
            kept.push(item);
        }
    }
    if repeated {
        warnings.push(format!(
            "{flag} lists a value more than once: each is used once"
        ));
    }
    kept
}

/// A non-empty comma-separated list, each item parsed by `parse_item`.
pub(super) fn parse_list<T>(
    text: &str,
    flag: &str,
    parse_item: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Error> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(usage(format!("{flag} '{text}': empty item in the list")));
    }
    items
        .into_iter()
        .map(|item| parse_item(item).map_err(|why| usage(format!("{flag}: {why}"))))
        .collect()
}

/// `KEY=VALUE`.
pub(super) fn parse_engine_arg(text: &str) -> Result<(String, String), Error> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().into(), value.trim().into()))
        }
        _ => Err(usage(format!("--engine-arg '{text}': expected KEY=VALUE"))),
    }
}

/// `ttft:500 tpot:50 e2el:2000`, in milliseconds.
pub fn parse_goodput(items: &[String]) -> Result<Slos, Error> {
    let mut slos = Slos::default();
    for item in items {
        let bad = |why: &str| usage(format!("--goodput '{item}': {why}"));
        let (key, value) = item
            .split_once(':')
            .ok_or_else(|| bad("expected KEY:MS, e.g. ttft:500"))?;
        let ms = OBJECTIVE_MS.parse(value).map_err(|_| {
            bad("the objective must be a positive number of milliseconds (at most 1e9)")
        })?;
        let slot = match key.trim() {
            "ttft" => &mut slos.ttft_ms,
            "tpot" => &mut slos.tpot_ms,
            "e2el" => &mut slos.e2el_ms,
            _ => return Err(bad("unknown metric (use ttft, tpot or e2el)")),
        };
        if slot.replace(ms).is_some() {
            return Err(bad("metric given twice"));
        }
    }
    Ok(slos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_with_units() {
        assert_eq!(parse_rate("inf").unwrap(), RequestRate::Infinite);
        assert_eq!(parse_rate("4").unwrap(), RequestRate::PerSecond(4.0));
        assert_eq!(parse_rate("4/s").unwrap(), RequestRate::PerSecond(4.0));
        assert_eq!(parse_rate("120/min").unwrap(), RequestRate::PerSecond(2.0));
        assert!(parse_rate("4/h")
            .unwrap_err()
            .to_string()
            .contains("unknown unit 'h'"));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
    }

    #[test]
    fn concurrency_lists() {
        assert_eq!(parse_concurrency("16,64, 128").unwrap(), vec![16, 64, 128]);
        assert!(parse_concurrency("16,0").is_err());
        assert!(parse_concurrency("16,,64").is_err());
        assert!(parse_concurrency("-1").is_err());
    }

    #[test]
    fn goodput_specs() {
        let slos = parse_goodput(&["ttft:500".into(), "tpot:50".into()]).unwrap();
        assert_eq!(
            (slos.ttft_ms, slos.tpot_ms, slos.e2el_ms),
            (Some(500.0), Some(50.0), None)
        );
        assert!(parse_goodput(&["ttft=500".into()]).is_err());
        assert!(parse_goodput(&["itl:5".into()]).is_err());
        assert!(parse_goodput(&["ttft:5".into(), "ttft:6".into()]).is_err());
    }
}
