//! Durations as Envoy writes them (`"30s"`, `"1.5s"`, `"250ms"`, `"5m"`, `"1h"`), parsed to
//! whole milliseconds with integer arithmetic only, so `"0.1s"` is exactly 100 ms.
//!
//! Each duration setting has a suffix-free name taking this form (`clock_skew`) and keeps its
//! older integer spelling (`clock_skew_s`) as an alias; [`pick`] refuses both at once.

use serde::de::{Deserialize, Deserializer, Error};

/// A non-negative duration, exact to the millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration {
    ms: u64,
}

/// The longest duration any setting may name (a year): keeps every later `* 1000` in range.
const MAX_MS: u64 = 366 * 86_400_000;

impl Duration {
    pub const fn from_ms(ms: u64) -> Duration {
        Duration { ms }
    }

    pub fn ms(self) -> u64 {
        self.ms
    }

    /// Parses `<digits>[.<digits>]<unit>` with unit `ms`, `s`, `m` or `h`.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let bad = |why: &str| {
            format!("{text:?} is not a duration ({why}; e.g. \"30s\", \"1.5s\", \"250ms\", \"5m\")")
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| bad("no unit"))?;
        let (number, unit) = text.split_at(split);
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad("unit is one of ms, s, m, h")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || (number.contains('.') && frac.is_empty()) {
            return Err(bad("digits before and after the point"));
        }
        if frac.len() > 9 || frac.contains('.') {
            return Err(bad("at most nine decimals"));
        }
        let too_long = || bad("longer than a year");
        let whole: u64 = whole.parse().map_err(|_| too_long())?;
        let mut ms = whole.checked_mul(unit_ms).ok_or_else(too_long)?;
        if !frac.is_empty() {
            let scale = 10u64.pow(frac.len() as u32);
            let frac: u64 = frac.parse().map_err(|_| bad("digits after the point"))?;
            // frac / scale of a unit, which must come out in whole milliseconds.
            let part = frac.checked_mul(unit_ms).ok_or_else(too_long)?;
            if !part.is_multiple_of(scale) {
                return Err(bad("finer than a millisecond"));
            }
            ms = ms.checked_add(part / scale).ok_or_else(too_long)?;
        }
        if ms > MAX_MS {
            return Err(too_long());
        }
        Ok(Duration { ms })
    }

    /// The duration in seconds, for settings kept to the second.
    pub fn whole_seconds(self, field: &str) -> Result<u64, String> {
        if !self.ms.is_multiple_of(1000) {
            return Err(format!("{field}: must be a whole number of seconds"));
        }
        Ok(self.ms / 1000)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).map_err(D::Error::custom)
    }
}

/// The older integer spelling of a duration in seconds (`clock_skew_s: 60`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

/// The older integer spelling of a duration in milliseconds (`body_timeout_ms: 30000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Millis(pub Duration);

fn legacy<'de, D: Deserializer<'de>>(d: D, unit_ms: u64) -> Result<Duration, D::Error> {
    let n = i64::deserialize(d)?;
    let n = u64::try_from(n).map_err(|_| D::Error::custom("must not be negative"))?;
    match n.checked_mul(unit_ms) {
        Some(ms) if ms <= MAX_MS => Ok(Duration { ms }),
        _ => Err(D::Error::custom("longer than a year")),
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
        legacy(d, 1_000).map(Seconds)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        legacy(d, 1).map(Millis)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> String {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        crate::schema::literal(serde_json::json!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
            "description": "A duration as Envoy writes it: \"30s\", \"1.5s\", \"250ms\", \"5m\", \"1h\" (at most a year)."
        }))
    }
}

/// The integer aliases: a non-negative count of the unit.
macro_rules! legacy_schema {
    ($t:ty, $unit:literal) => {
        impl schemars::JsonSchema for $t {
            fn schema_name() -> String {
                stringify!($t).into()
            }

            fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                crate::schema::literal(serde_json::json!({
                    "type": "integer",
                    "minimum": 0,
                    "description": concat!("The older integer spelling, in ", $unit, ".")
                }))
            }
        }
    };
}
legacy_schema!(Seconds, "seconds");
legacy_schema!(Millis, "milliseconds");

/// An integer alias of a duration setting.
pub trait Legacy {
    fn duration(&self) -> Duration;
}

impl Legacy for Seconds {
    fn duration(&self) -> Duration {
        self.0
    }
}

impl Legacy for Millis {
    fn duration(&self) -> Duration {
        self.0
    }
}

/// One duration setting written either way: `field` (its full name, `"30s"`) or the alias
/// `alias` (`30`) next to it.
pub fn pick<L: Legacy>(
    field: &str,
    new: Option<Duration>,
    alias: &str,
    old: Option<L>,
) -> Result<Option<Duration>, String> {
    match (new, old) {
        (Some(_), Some(_)) => {
            let name = field.rsplit('.').next().unwrap_or(field);
            Err(format!("{field}: give {name} or {alias}, not both"))
        }
        (Some(d), None) => Ok(Some(d)),
        (None, Some(l)) => Ok(Some(l.duration())),
        (None, None) => Ok(None),
    }
}

/// A duration setting kept to the second, `0` when unset (`field`: its full name).
pub fn seconds_or_zero(d: Option<Duration>, field: &str) -> Result<i64, String> {
    let s = d.map_or(Ok(0), |d| d.whole_seconds(field))?;
    i64::try_from(s).map_err(|_| format!("{field}: too long"))
}

/// Default bound on a held message: generous for a 5 MiB body on a slow link, short enough that
/// a client cannot park streams in the gateway.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 30_000;

/// Validates `body_timeout` (or its alias `body_timeout_ms`): the bound every filter that holds a
/// message shares.
pub fn body_timeout(new: Option<Duration>, old: Option<Millis>) -> Result<u64, String> {
    let ms = pick("body_timeout", new, "body_timeout_ms", old)?
        .map_or(DEFAULT_BODY_TIMEOUT_MS, Duration::ms);
    if !(100..=600_000).contains(&ms) {
        return Err("body_timeout: must be between 100ms and 600s".into());
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: &str) -> Result<u64, String> {
        Duration::parse(t).map(Duration::ms)
    }

    #[test]
    fn envoy_forms_parse_exactly() {
        for (t, want) in [
            ("30s", 30_000),
            ("1.5s", 1_500),
            ("0.1s", 100),
            ("0.001s", 1),
            ("0.100000000s", 100),
            ("250ms", 250),
            ("0ms", 0),
            ("5m", 300_000),
            ("1.5m", 90_000),
            ("1h", 3_600_000),
            ("0.25h", 900_000),
            ("8784h", MAX_MS),
            ("007s", 7_000),
        ] {
            assert_eq!(ms(t), Ok(want), "{t}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for t in [
            "",
            "s",
            "30",
            "-1s",
            "+1s",
            " 1s",
            "1s ",
            "1.s",
            ".5s",
            "1..5s",
            "1.5.0s",
            "1S",
            "1sec",
            "1d",
            "1us",
            "0.5ms",
            "0.0001s",
            "1.0000000001s",
            "8785h",
            "1e3s",
            "99999999999999999999s",
            "18446744073709551615ms",
            "١s",
        ] {
            assert!(ms(t).is_err(), "{t:?} accepted");
        }
    }

    #[test]
    fn errors_say_what_a_duration_looks_like() {
        let e = ms("30").unwrap_err();
        assert!(
            e.contains("\"30\" is not a duration") && e.contains("\"1.5s\""),
            "{e}"
        );
    }

    #[test]
    fn legacy_integers_carry_their_unit() {
        let s: Seconds = serde_json::from_str("60").unwrap();
        assert_eq!(s.0.ms(), 60_000);
        let m: Millis = serde_json::from_str("250").unwrap();
        assert_eq!(m.0.ms(), 250);
        let neg = serde_json::from_str::<Seconds>("-1")
            .unwrap_err()
            .to_string();
        assert!(neg.contains("must not be negative"), "{neg}");
        assert!(serde_json::from_str::<Seconds>("31622400000").is_err());
        assert!(serde_json::from_str::<Seconds>("\"60s\"").is_err());
        assert!(serde_json::from_str::<Duration>("60").is_err());
    }

    #[test]
    fn both_spellings_at_once_is_an_error() {
        let d = Some(Duration::from_ms(1000));
        assert_eq!(
            pick(
                "clock_skew",
                d,
                "clock_skew_s",
                Some(Seconds(Duration::from_ms(2000)))
            ),
            Err("clock_skew: give clock_skew or clock_skew_s, not both".into())
        );
        assert_eq!(
            pick::<Seconds>("clock_skew", d, "clock_skew_s", None),
            Ok(d)
        );
        assert_eq!(
            pick("x", None, "x_ms", Some(Millis(Duration::from_ms(5)))),
            Ok(Some(Duration::from_ms(5)))
        );
    }

    #[test]
    fn whole_seconds_refuses_fractions() {
        assert_eq!(Duration::from_ms(60_000).whole_seconds("f"), Ok(60));
        assert_eq!(
            Duration::from_ms(1_500).whole_seconds("f"),
            Err("f: must be a whole number of seconds".into())
        );
    }
}
