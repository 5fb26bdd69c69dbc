//! `--engine-arg key=value`: the one place engine settings are parsed.
//!
//! Every engine takes its settings from an [`EngineArgs`]: it asks for each key
//! it knows with a typed `take_*` call (which checks the value's range and
//! names the key and the accepted values when it is wrong), then calls
//! [`EngineArgs::finish`], which fails on any key nobody asked for and lists the
//! keys that were asked for. So the "known keys" list can never drift from the
//! code, and every engine accepts the same boolean syntax.
//!
//! Engines that pass settings through to a Python constructor take what they
//! interpret themselves and hand on [`EngineArgs::into_rest`].

use std::ops::RangeInclusive;
use std::time::Duration;

use super::EngineConfigError;

/// The words every engine accepts for a boolean, in any case.
const TRUE_WORDS: [&str; 4] = ["true", "1", "yes", "on"];
const FALSE_WORDS: [&str; 4] = ["false", "0", "no", "off"];

/// `--engine-arg` pairs of one engine, consumed key by key.
#[derive(Debug)]
pub struct EngineArgs {
    engine: String,
    /// Not yet taken, in the order given (a repeated key keeps its last value).
    pairs: Vec<(String, String)>,
    /// Every key an engine asked for, present or not, for the unknown-key error.
    known: Vec<&'static str>,
    /// Keys given more than once, for [`EngineArgs::warnings`].
    repeated: Vec<String>,
}

impl EngineArgs {
    /// `engine` names the engine in every message.
    pub fn new(engine: &str, pairs: &[(String, String)]) -> Self {
        let mut kept: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        let mut repeated = Vec::new();
        for (key, value) in pairs {
            match kept.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => {
                    slot.1 = value.clone();
                    if !repeated.contains(key) {
                        repeated.push(key.clone());
                    }
                }
                None => kept.push((key.clone(), value.clone())),
            }
        }
        Self {
            engine: engine.to_string(),
            pairs: kept,
            known: Vec::new(),
            repeated,
        }
    }

    /// One line per key given more than once (the last value is used).
    pub fn warnings(&self) -> Vec<String> {
        self.repeated
            .iter()
            .map(|key| {
                format!(
                    "{} engine arg '{key}' given more than once: the last value is used",
                    self.engine
                )
            })
            .collect()
    }

    /// The raw value of `key`, removed from the pairs.
    pub fn take_string(&mut self, key: &'static str) -> Option<String> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        let index = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(index).1)
    }

    /// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case.
    pub fn take_bool(&mut self, key: &'static str) -> Result<Option<bool>, EngineConfigError> {
        let Some(value) = self.take_string(key) else {
            return Ok(None);
        };
        let lower = value.to_ascii_lowercase();
        if TRUE_WORDS.contains(&lower.as_str()) {
            Ok(Some(true))
        } else if FALSE_WORDS.contains(&lower.as_str()) {
            Ok(Some(false))
        } else {
            Err(self.bad(key, &value, "true or false"))
        }
    }

    /// An integer in `range` (inclusive).
    pub fn take_u64_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<u64>,
    ) -> Result<Option<u64>, EngineConfigError> {
        let Some(value) = self.take_string(key) else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(
                key,
                &value,
                &format!("an integer in {}..={}", range.start(), range.end()),
            )),
        }
    }

    /// An integer in `1..=max`.
    pub fn take_positive(
        &mut self,
        key: &'static str,
        max: u64,
    ) -> Result<Option<u64>, EngineConfigError> {
        let Some(value) = self.take_string(key) else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(key, &value, &format!("a positive integer, at most {max}"))),
        }
    }

    /// A finite number in `range` (inclusive).
    pub fn take_f64_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<f64>,
    ) -> Result<Option<f64>, EngineConfigError> {
        let Some(value) = self.take_string(key) else {
            return Ok(None);
        };
        match value.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && range.contains(&x) => Ok(Some(x)),
            _ => Err(self.bad(
                key,
                &value,
                &format!("a number in [{}, {}]", range.start(), range.end()),
            )),
        }
    }

    /// Microseconds in `0..=max_us`, as a duration (fractions allowed).
    pub fn take_micros(
        &mut self,
        key: &'static str,
        max_us: f64,
    ) -> Result<Option<Duration>, EngineConfigError> {
        let micros = self.take_f64_in(key, 0.0..=max_us)?;
        // In range and finite, so the conversion cannot panic.
        Ok(micros.map(|us| Duration::from_secs_f64(us / 1e6)))
    }

    /// One of `choices`, as written there.
    pub fn take_choice(
        &mut self,
        key: &'static str,
        choices: &[&'static str],
    ) -> Result<Option<&'static str>, EngineConfigError> {
        let Some(value) = self.take_string(key) else {
            return Ok(None);
        };
        match choices.iter().find(|c| **c == value) {
            Some(choice) => Ok(Some(choice)),
            None => Err(self.bad(key, &value, &format!("one of {}", choices.join(", ")))),
        }
    }

    /// Fails on any key that no `take_*` call asked for, listing those that were.
    pub fn finish(self) -> Result<(), EngineConfigError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((key, _)) => Err(EngineConfigError(format!(
                "unknown {} engine arg '{key}' (known: {})",
                self.engine,
                self.known.join(", ")
            ))),
        }
    }

    /// The pairs nobody took, for engines that hand them on unread.
    pub fn into_rest(self) -> Vec<(String, String)> {
        self.pairs
    }

    fn bad(&self, key: &str, value: &str, expected: &str) -> EngineConfigError {
        EngineConfigError(format!(
            "{} engine arg {key}={value}: expected {expected}",
            self.engine
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> EngineArgs {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EngineArgs::new("test", &pairs)
    }

    #[test]
    fn one_boolean_syntax_for_every_engine() {
        for word in ["true", "TRUE", "1", "yes", "On"] {
            assert_eq!(
                args(&[("b", word)]).take_bool("b"),
                Ok(Some(true)),
                "{word}"
            );
        }
        for word in ["false", "False", "0", "no", "OFF"] {
            assert_eq!(
                args(&[("b", word)]).take_bool("b"),
                Ok(Some(false)),
                "{word}"
            );
        }
        let error = args(&[("b", "maybe")]).take_bool("b").unwrap_err();
        assert_eq!(error.0, "test engine arg b=maybe: expected true or false");
        assert_eq!(args(&[]).take_bool("b"), Ok(None));
    }

    #[test]
    fn numbers_are_range_checked_where_they_are_parsed() {
        let mut a = args(&[("n", "0"), ("m", "5"), ("big", "1e26"), ("neg", "-1")]);
        assert_eq!(
            a.take_positive("n", 10).unwrap_err().0,
            "test engine arg n=0: expected a positive integer, at most 10"
        );
        assert_eq!(a.take_positive("m", 10), Ok(Some(5)));
        assert!(
            a.take_micros("big", 1e9).is_err(),
            "1e26 us is out of range"
        );
        assert!(a.take_f64_in("neg", 0.0..=1.0).is_err());
        for bad in ["nan", "inf", "-inf", "", " "] {
            assert!(
                args(&[("x", bad)]).take_f64_in("x", 0.0..=1.0).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(
            args(&[("us", "1.5")]).take_micros("us", 1e9),
            Ok(Some(Duration::from_nanos(1500)))
        );
    }

    #[test]
    fn unknown_keys_list_the_keys_that_were_asked_for() {
        let mut a = args(&[("alpha", "1"), ("typo", "2")]);
        assert_eq!(a.take_positive("alpha", 9), Ok(Some(1)));
        assert_eq!(a.take_bool("beta"), Ok(None));
        assert_eq!(
            a.finish().unwrap_err().0,
            "unknown test engine arg 'typo' (known: alpha, beta)"
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_warns() {
        let mut a = args(&[("k", "1"), ("k", "2")]);
        assert_eq!(a.warnings().len(), 1);
        assert_eq!(a.take_positive("k", 9), Ok(Some(2)));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn choices_and_rest() {
        let mut a = args(&[("mode", "fast"), ("other", "x")]);
        assert_eq!(a.take_choice("mode", &["slow", "fast"]), Ok(Some("fast")));
        assert_eq!(a.into_rest(), vec![("other".to_string(), "x".to_string())]);
        let error = args(&[("mode", "warp")])
            .take_choice("mode", &["slow", "fast"])
            .unwrap_err();
        assert_eq!(
            error.0,
            "test engine arg mode=warp: expected one of slow, fast"
        );
    }
}
