//! Number rendering: ECMAScript `Number::toString` (docs/profiles.md#mojaloop) and orjson's float
//! form (docs/profiles.md#spar).
//!
//! Both start from the shortest round-trip digits, which Rust's `{:e}` formatting produces
//! (`1.5e0`, `1e21`, `-1.2345e-7`); this module only re-lays those digits out.

/// Shortest round-trip digits of `|x|` and the decimal exponent of the first digit:
/// `|x| = 0.d1d2… × 10^(exp + 1)`, i.e. `d1.d2… × 10^exp`. `None` for 0, NaN and infinities.
fn shortest(x: f64) -> Option<(String, i32)> {
    if !x.is_finite() || x == 0.0 {
        return None;
    }
    let s = format!("{:e}", x.abs());
    let (mantissa, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    Some((break_tie_to_even(x.abs(), digits, exp), exp))
}

/// Rust picks the closest shortest digits but rounds an exact tie between two candidates up;
/// ECMAScript (Number::toString, step 5) and ryu (orjson) pick the even one. A tie needs a
/// neighbour with as many digits that also round-trips, so the exact expansion of `x` is only
/// computed in that rare case.
fn break_tie_to_even(x: f64, digits: String, exp: i32) -> String {
    let Ok(d) = digits.parse::<u64>() else {
        return digits;
    };
    if d % 2 == 0 {
        return digits;
    }
    for alt in [d.checked_sub(1), d.checked_add(1)].into_iter().flatten() {
        let alt_digits = alt.to_string();
        if alt_digits.len() != digits.len() || reparse(&alt_digits, exp) != Some(x) {
            continue;
        }
        // Exact tie: x is precisely min(d, alt) followed by the digit 5.
        let midpoint = format!("{}5", d.min(alt));
        let exact = format!("{:.800e}", x);
        let Some((exact_mantissa, exact_exp)) = exact.split_once('e') else {
            return digits;
        };
        let exact_digits: String = exact_mantissa
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if exact_exp.parse::<i32>().ok() == Some(exp)
            && exact_digits.starts_with(&midpoint)
            && exact_digits
                .get(midpoint.len()..)
                .is_some_and(|r| r.bytes().all(|b| b == b'0'))
        {
            return alt_digits;
        }
    }
    digits
}

/// The double nearest to `0.d1d2… × 10^(exp + 1)`.
fn reparse(digits: &str, exp: i32) -> Option<f64> {
    let (first, rest) = digits.split_at_checked(1)?;
    format!("{first}.{rest}e{exp}").parse().ok()
}

/// `digits` with a decimal point inserted so that the first digit has weight `10^exp`;
/// used only where the caller has bounded `exp`.
fn plain(digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
        return out;
    }
    let int_len = usize::try_from(exp).unwrap_or(0) + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
    } else {
        let (int, frac) = digits.split_at(int_len);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// `d[.ddd]e±X` with the exponent sign always written and no padding.
fn scientific(digits: &str, exp: i32) -> String {
    let mut out = String::new();
    let mut chars = digits.chars();
    if let Some(first) = chars.next() {
        out.push(first);
    }
    let rest = chars.as_str();
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&exp.unsigned_abs().to_string());
    out
}

/// ECMAScript `Number::toString(x)` (radix 10) for a finite double; `-0` gives `"0"`.
pub fn ecmascript_number(x: f64) -> String {
    let Some((digits, exp)) = shortest(x) else {
        return if x.is_nan() {
            "NaN".to_owned()
        } else if x.is_infinite() {
            if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
        } else {
            "0".to_owned()
        };
    };
    // ECMAScript's n is the position of the decimal point: value = 0.digits × 10^n.
    let n = exp + 1;
    let body = if (-5..=21).contains(&n) {
        // k ≤ n ≤ 21 → integer with zeros; 0 < n ≤ 21 → point inside; −6 < n ≤ 0 → "0.000ddd".
        plain(&digits, exp)
    } else {
        scientific(&digits, exp)
    };
    if x < 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

/// orjson's rendering of a double (docs/profiles.md#spar): plain with `.0` when integral for
/// 1e-5 ≤ |x| < 1e16, otherwise `d[.ddd]e±X`; zeros are `0.0` / `-0.0`.
pub fn orjson_float(x: f64) -> String {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let Some((digits, exp)) = shortest(x) else {
        // orjson writes non-finite floats as null; the strict parser never produces them.
        return if x.is_finite() {
            format!("{sign}0.0")
        } else {
            "null".to_owned()
        };
    };
    let body = if (-5..16).contains(&exp) {
        let p = plain(&digits, exp);
        if p.contains('.') {
            p
        } else {
            format!("{p}.0")
        }
    } else {
        scientific(&digits, exp)
    };
    format!("{sign}{body}")
}

/// A decimal number reduced to significant digits (no leading/trailing zeros) and the weight of
/// the first digit, for comparing decimal *values* of different spellings. Zero has no digits.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exp: i64,
}

/// Normalizes a JSON number token (or a rendering of one). `None` if it is not a number.
fn decimal_value(token: &str) -> Option<Decimal> {
    let (negative, rest) = match token.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, token),
    };
    let (mantissa, exp_part) = match rest.find(['e', 'E']) {
        Some(i) => (rest.get(..i)?, Some(rest.get(i + 1..)?)),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp: i64 = match exp_part {
        None => 0,
        Some(e) => {
            let (neg, ds) = match e.as_bytes().first() {
                Some(b'-') => (true, e.get(1..)?),
                Some(b'+') => (false, e.get(1..)?),
                _ => (false, e),
            };
            if ds.is_empty() || !ds.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Saturate absurd exponents; they are far outside any double anyway.
            let mag = ds.bytes().fold(0i64, |acc, b| {
                acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
            });
            if neg {
                -mag
            } else {
                mag
            }
        }
    };
    let all: String = int.chars().chain(frac.chars()).collect();
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_owned();
    if digits.is_empty() {
        return Some(Decimal {
            negative: false,
            digits,
            exp: 0,
        });
    }
    // Weight of the first significant digit.
    let int_len = i64::try_from(int.len()).ok()?;
    let lead = i64::try_from(lead).ok()?;
    let first_exp = exp.saturating_add(int_len - 1 - lead);
    Some(Decimal {
        negative,
        digits,
        exp: first_exp,
    })
}

/// Whether `rendering` denotes a different decimal value than the JSON number `token`
/// (`1.50` vs `1.5` is the same value; `9007199254740993` vs `9007199254740992` is not).
pub fn changes_decimal_value(token: &str, rendering: &str) -> bool {
    match (decimal_value(token), decimal_value(rendering)) {
        (Some(a), Some(b)) => a != b,
        _ => true,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    #[test]
    fn ecmascript_examples() {
        for (x, s) in [
            (1.5, "1.5"),
            (100.0, "100"),
            (-0.0, "0"),
            (0.0, "0"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (1.5e-7, "1.5e-7"),
            (0.1, "0.1"),
            (-2.5e-10, "-2.5e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9007199254740992"),
            (123.456, "123.456"),
            (0.000123, "0.000123"),
            (1.2345e25, "1.2345e+25"),
            // Exact tie between ...454.2 and ...454.3: the even digit wins.
            (1628753918199454.0 + 0.25, "1628753918199454.2"),
            (1628753918199454.0 + 0.75, "1628753918199454.8"),
        ] {
            assert_eq!(ecmascript_number(x), s, "{x:e}");
        }
    }

    #[test]
    fn orjson_examples() {
        for (x, s) in [
            (100.0, "100.0"),
            (1.5, "1.5"),
            (0.00001, "0.00001"),
            (0.0000099, "9.9e-6"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e-6, "1e-6"),
            (1.5e300, "1.5e+300"),
            (-1.25e-7, "-1.25e-7"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (1.8446744073709552e19, "1.8446744073709552e+19"),
        ] {
            assert_eq!(orjson_float(x), s, "{x:e}");
        }
    }

    #[test]
    fn decimal_values() {
        assert!(!changes_decimal_value("1.50", "1.5"));
        assert!(!changes_decimal_value("1E2", "100"));
        assert!(!changes_decimal_value("-0", "0"));
        assert!(!changes_decimal_value("-0.0e5", "0"));
        assert!(!changes_decimal_value("0.00012", "0.00012"));
        assert!(!changes_decimal_value("12e-5", "0.00012"));
        assert!(!changes_decimal_value("1000e-3", "1"));
        assert!(!changes_decimal_value("1e21", "1e+21"));
        assert!(changes_decimal_value(
            "9007199254740993",
            "9007199254740992"
        ));
        assert!(changes_decimal_value("0.30000000000000000001", "0.3"));
        assert!(changes_decimal_value("1e-400", "0"));
        assert!(changes_decimal_value("-1", "1"));
        assert!(changes_decimal_value("x", "1"));
        assert!(!changes_decimal_value(
            "1e99999999999999999999999",
            "1e99999999999999999999999"
        ));
    }
}
