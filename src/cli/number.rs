//! The one parser of numbers on the command line. Every numeric flag, and
//! every number inside a list or `KEY:VALUE` flag, is read by a [`Bounded`]:
//! it parses the text, checks it against the flag's accepted range and,
//! when either fails, names the flag, the value and the range, in one line
//! (`--burstiness '-1': expected a number in [0.001, 1000]`). So no
//! unchecked user number reaches `Duration::from_secs_f64`, a multiplication
//! or a distribution constructor, where an extreme one would panic.

use std::fmt::Display;
use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// A number of type `T` within `[lo, hi]`, or `(lo, hi]` / `[lo, hi)` /
/// `(lo, hi)` for floats whose bound is excluded.
#[derive(Clone, Copy, Debug)]
pub struct Bounded<T> {
    lo: T,
    hi: T,
    /// Whether `lo` and `hi` themselves are accepted.
    lo_included: bool,
    hi_included: bool,
    /// `an integer` or `a number`, for the message.
    noun: &'static str,
}

/// An integer in `lo..=hi`.
pub const fn int<T: Copy>(lo: T, hi: T) -> Bounded<T> {
    Bounded {
        lo,
        hi,
        lo_included: true,
        hi_included: true,
        noun: "an integer",
    }
}

/// A finite number in `[lo, hi]`.
pub const fn real(lo: f64, hi: f64) -> Bounded<f64> {
    Bounded {
        lo,
        hi,
        lo_included: true,
        hi_included: true,
        noun: "a number",
    }
}

/// A finite `f32` in `[lo, hi]` (sampling settings).
pub const fn real32(lo: f32, hi: f32) -> Bounded<f32> {
    Bounded {
        lo,
        hi,
        lo_included: true,
        hi_included: true,
        noun: "a number",
    }
}

impl<T: Copy> Bounded<T> {
    /// The same range without its lower bound: `(lo, hi]`.
    pub const fn above(mut self) -> Self {
        self.lo_included = false;
        self
    }

    /// The same range without its upper bound: `[lo, hi)`.
    pub const fn below(mut self) -> Self {
        self.hi_included = false;
        self
    }
}

/// What every bounded number type can be: parsed, compared, and finite.
pub trait Number: Copy + PartialOrd + Display + FromStr + Send + Sync + 'static {
    fn is_finite(self) -> bool;
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn is_finite(self) -> bool {
                true
            }
        }
    )*};
}
integers!(u16, u32, u64, usize);

impl Number for f64 {
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Number for f32 {
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl<T: Number> Bounded<T> {
    /// `text` as a number in range, or what was expected.
    pub fn parse(&self, text: &str) -> Result<T, String> {
        let value: Option<T> = text.trim().parse().ok();
        match value.filter(|v| self.contains(*v)) {
            Some(v) => Ok(v),
            None => Err(format!("expected {}", self.describe())),
        }
    }

    /// `text` for `flag`: the error names the flag and the value.
    pub fn parse_flag(&self, flag: &str, text: &str) -> Result<T, String> {
        self.parse(text)
            .map_err(|why| format!("{flag} '{text}': {why}"))
    }

    pub fn contains(&self, v: T) -> bool {
        let above = if self.lo_included {
            v >= self.lo
        } else {
            v > self.lo
        };
        let below = if self.hi_included {
            v <= self.hi
        } else {
            v < self.hi
        };
        v.is_finite() && above && below
    }

    /// `an integer in 1..=64` or `a number in (0, 1]`.
    pub fn describe(&self) -> String {
        if self.noun == "an integer" {
            return format!("an integer in {}..={}", self.lo, self.hi);
        }
        let open = if self.lo_included { '[' } else { '(' };
        let close = if self.hi_included { ']' } else { ')' };
        format!("{} in {open}{}, {}{close}", self.noun, self.lo, self.hi)
    }
}

impl<T: Number + Clone> TypedValueParser for Bounded<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg
            .and_then(|a| a.get_long().map(|l| format!("--{l}")))
            .unwrap_or_else(|| "a value".into());
        let text = value.to_string_lossy();
        self.parse_flag(&flag, &text)
            .map_err(|message| clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_what_they_accept() {
        let burstiness = real(0.001, 1000.0);
        assert_eq!(burstiness.parse("1"), Ok(1.0));
        assert_eq!(
            burstiness.parse_flag("--burstiness", "-1").unwrap_err(),
            "--burstiness '-1': expected a number in [0.001, 1000]"
        );
        for bad in ["1e300", "nan", "inf", "-inf", "", "one", "0"] {
            assert!(burstiness.parse(bad).is_err(), "{bad:?}");
        }
        let ratio = real(0.0, 1.0).below();
        assert_eq!(ratio.describe(), "a number in [0, 1)");
        assert!(ratio.parse("1").is_err() && ratio.parse("0").is_ok());
        let timeout = real(0.0, 1e6).above();
        assert_eq!(timeout.describe(), "a number in (0, 1000000]");
        let tp = int(1u32, 1024);
        assert_eq!(tp.parse(" 8 "), Ok(8));
        assert_eq!(
            tp.parse("0").unwrap_err(),
            "expected an integer in 1..=1024"
        );
        assert!(tp.parse("4294967296").is_err(), "beyond u32");
        assert!(tp.parse("1.5").is_err() && tp.parse("-1").is_err());
    }
}
