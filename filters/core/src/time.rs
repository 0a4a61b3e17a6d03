//! Host-free date/time helpers over unix time passed in by the caller (no clock reads).
//!
//! Formats used by the profiles (docs/profiles.md, each profile's section):
//! - IMF-fixdate `Tue, 02 Jun 2026 10:00:00 GMT`: Mojaloop `Date`; RFC 850 and asctime
//!   HTTP-dates and ISO-8601 are read only to rewrite them (the Mojaloop signer).
//! - RFC 3339: OCEN `metadata.timestamp`, SPAR request timestamps.
//! - MOSIP `requestTime` `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`.
//! - Written: `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (MOSIP, SPAR replies) and
//!   `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00` (OCEN replies).
//!
//! Parsing is done by the `time` crate; the fixed-layout HTTP-date forms are additionally required
//! to re-format to exactly the input, which rejects wrong weekdays, missing padding and case
//! variants.

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Seconds since 1970-01-01T00:00:00Z.
pub type UnixSeconds = i64;
/// Milliseconds since 1970-01-01T00:00:00Z.
pub type UnixMillis = i64;

const IMF_FIXDATE: &[BorrowedFormatItem<'_>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);
/// RFC 850 with the two-digit year already widened to four digits (see [`parse_rfc850`]).
const RFC850_WIDE: &[BorrowedFormatItem<'_>] = format_description!(
    "[weekday repr:long], [day]-[month repr:short]-[year] [hour]:[minute]:[second] GMT"
);
const RFC850: &[BorrowedFormatItem<'_>] = format_description!(
    "[weekday repr:long], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
);
const ASCTIME: &[BorrowedFormatItem<'_>] = format_description!(
    "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
);
const MILLIS_Z: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const MILLIS_UTC_OFFSET: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00");
const MOSIP_LOCAL: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
const MOSIP_OFFSET: &[BorrowedFormatItem<'_>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
);

fn from_seconds(t: UnixSeconds) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t).ok()
}

fn from_millis(t: UnixMillis) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000).ok()
}

fn to_millis(t: OffsetDateTime) -> Option<UnixMillis> {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// Formats `t` as IMF-fixdate (`Tue, 02 Jun 2026 10:00:00 GMT`); `None` outside years 1–9999.
pub fn format_imf_fixdate(t: UnixSeconds) -> Option<String> {
    let dt = from_seconds(t)?;
    if dt.year() < 1 {
        return None;
    }
    dt.format(IMF_FIXDATE).ok()
}

/// Parses an IMF-fixdate exactly (RFC 9110 §5.6.7: case-sensitive, fixed width, `GMT`, the
/// weekday matching the date). Used where the platform compares `Date` as written.
pub fn parse_imf_fixdate(s: &str) -> Option<UnixSeconds> {
    let dt = PrimitiveDateTime::parse(s, IMF_FIXDATE).ok()?.assume_utc();
    (dt.format(IMF_FIXDATE).ok()? == s).then(|| dt.unix_timestamp())
}

/// Parses RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`. Two-digit years 70–99 are 19xx and 00–69
/// are 20xx (the caller has no clock here; RFC 9110's "50 years" rule gives the same result
/// until 2040).
fn parse_rfc850(s: &str) -> Option<UnixSeconds> {
    let (weekday, rest) = s.split_once(", ")?;
    // rest = "06-Nov-94 08:49:37 GMT": the year is bytes 7..9.
    let yy = rest.get(7..9)?;
    if !yy.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let century = if yy < "70" { "20" } else { "19" };
    let wide = format!(
        "{weekday}, {}{century}{yy}{}",
        rest.get(..7)?,
        rest.get(9..)?
    );
    let dt = PrimitiveDateTime::parse(&wide, RFC850_WIDE)
        .ok()?
        .assume_utc();
    (dt.format(RFC850).ok()? == s).then(|| dt.unix_timestamp())
}

/// Parses asctime `Sun Nov  6 08:49:37 1994` (UTC).
fn parse_asctime(s: &str) -> Option<UnixSeconds> {
    let dt = PrimitiveDateTime::parse(s, ASCTIME).ok()?.assume_utc();
    (dt.format(ASCTIME).ok()? == s).then(|| dt.unix_timestamp())
}

/// Parses any HTTP-date form (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 or asctime.
pub fn parse_http_date(s: &str) -> Option<UnixSeconds> {
    parse_imf_fixdate(s)
        .or_else(|| parse_rfc850(s))
        .or_else(|| parse_asctime(s))
}

/// Parses ISO-8601 date-times as JavaScript and Java clients write them: RFC 3339
/// (`2026-06-02T10:00:00.000Z`, `…+05:30`), the other ISO-8601 extended/basic forms the `time`
/// crate accepts, and a date-time without offset, taken as UTC. Fractions are truncated to
/// milliseconds.
pub fn parse_iso8601_ms(s: &str) -> Option<UnixMillis> {
    let dt = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .or_else(|_| {
            PrimitiveDateTime::parse(s, &Iso8601::DEFAULT).map(PrimitiveDateTime::assume_utc)
        })
        .ok()?;
    to_millis(dt)
}

/// Mojaloop signer `Date` rewrite (docs/profiles.md#mojaloop): an HTTP-date or ISO-8601 value
/// re-written as IMF-fixdate; `None` when unparseable (the caller then uses the current time).
pub fn date_header_to_imf_fixdate(value: &str) -> Option<String> {
    let value = value.trim_matches([' ', '\t']);
    let seconds =
        parse_http_date(value).or_else(|| parse_iso8601_ms(value).map(|ms| ms.div_euclid(1000)))?;
    format_imf_fixdate(seconds)
}

/// Parses an RFC 3339 date-time (`2026-06-02T10:00:00Z`, `2026-06-02T15:30:00.123+05:30`);
/// fractions truncated to milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<UnixMillis> {
    to_millis(OffsetDateTime::parse(s, &Rfc3339).ok()?)
}

/// Parses MOSIP `requestTime`, Java pattern `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`: exactly three
/// fraction digits, then `Z` or `±HH:MM`.
pub fn parse_mosip_request_time_ms(s: &str) -> Option<UnixMillis> {
    let dt = match s.strip_suffix('Z') {
        Some(local) => PrimitiveDateTime::parse(local, MOSIP_LOCAL)
            .ok()?
            .assume_utc(),
        None => OffsetDateTime::parse(s, MOSIP_OFFSET).ok()?,
    };
    to_millis(dt)
}

/// Formats `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in UTC (MOSIP `responseTime`, SPAR
/// `response_timestamp`).
pub fn format_millis_z(t: UnixMillis) -> Option<String> {
    from_millis(t)?
        .to_offset(UtcOffset::UTC)
        .format(MILLIS_Z)
        .ok()
}

/// Formats `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00` in UTC (OCEN error `timestamp`,
/// docs/profiles.md#ocen).
pub fn format_millis_utc_offset(t: UnixMillis) -> Option<String> {
    from_millis(t)?.format(MILLIS_UTC_OFFSET).ok()
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

    /// 2026-06-02T10:00:00Z (a Tuesday).
    const T: i64 = 1_780_394_400;

    #[test]
    fn imf_fixdate() {
        assert_eq!(
            format_imf_fixdate(T).as_deref(),
            Some("Tue, 02 Jun 2026 10:00:00 GMT")
        );
        assert_eq!(parse_imf_fixdate("Tue, 02 Jun 2026 10:00:00 GMT"), Some(T));
        assert_eq!(
            format_imf_fixdate(0).as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "Wed, 02 Jun 2026 10:00:00 GMT", // wrong weekday
            "Tue, 2 Jun 2026 10:00:00 GMT",
            "tue, 02 Jun 2026 10:00:00 GMT",
            "Tue, 02 JUN 2026 10:00:00 GMT",
            "Tue, 02 Jun 2026 10:00:00 UTC",
            "Tue, 02 Jun 2026 10:00:00 +0000",
            "Tue, 02 Jun 2026 10:00:00 GMT ",
            "Tue, 31 Jun 2026 10:00:00 GMT",
            "Tue, 02 Jun 2026 24:00:00 GMT",
            "Tuesday, 02-Jun-26 10:00:00 GMT",
            "",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad}");
        }
        assert_eq!(format_imf_fixdate(i64::MAX), None);
        assert_eq!(format_imf_fixdate(-62_200_000_000), None);
    }

    #[test]
    fn http_date_forms() {
        let t = 784_111_777; // RFC 9110 example instant
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(parse_http_date("Tuesday, 02-Jun-26 10:00:00 GMT"), Some(T));
        assert_eq!(parse_http_date("Tue Jun  2 10:00:00 2026"), Some(T));
        assert_eq!(parse_http_date("Sun Nov 6 08:49:37 1994"), None);
        assert_eq!(parse_http_date("Monday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sunday, 06-Nov-x4 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sunday, 06-Nov-9"), None);
    }

    #[test]
    fn date_rewrite() {
        let want = Some("Tue, 02 Jun 2026 10:00:00 GMT");
        for input in [
            "Tue, 02 Jun 2026 10:00:00 GMT",
            "Tuesday, 02-Jun-26 10:00:00 GMT",
            "Tue Jun  2 10:00:00 2026",
            "2026-06-02T10:00:00Z",
            "2026-06-02T10:00:00.999Z",
            "2026-06-02T12:00:00+02:00",
            "2026-06-02T10:00:00",
            "2026-06-02T10:00Z",
            "20260602T100000Z",
            " 2026-06-02T10:00:00.000Z ",
        ] {
            assert_eq!(
                date_header_to_imf_fixdate(input).as_deref(),
                want,
                "{input}"
            );
        }
        assert_eq!(date_header_to_imf_fixdate("yesterday"), None);
        assert_eq!(date_header_to_imf_fixdate(""), None);
    }

    #[test]
    fn rfc3339_and_mosip() {
        let ms = T * 1000;
        assert_eq!(parse_rfc3339_ms("2026-06-02T10:00:00Z"), Some(ms));
        assert_eq!(
            parse_rfc3339_ms("2026-06-02T10:00:00.1239Z"),
            Some(ms + 123)
        );
        assert_eq!(parse_rfc3339_ms("2026-06-02T15:30:00+05:30"), Some(ms));
        assert_eq!(parse_rfc3339_ms("2026-06-02t10:00:00z"), Some(ms));
        assert_eq!(parse_rfc3339_ms("2026-06-02T10:00:00"), None);
        assert_eq!(parse_rfc3339_ms("2026-06-02"), None);
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59.999Z"), Some(-1));

        assert_eq!(
            parse_mosip_request_time_ms("2026-06-02T10:00:00.250Z"),
            Some(ms + 250)
        );
        assert_eq!(
            parse_mosip_request_time_ms("2026-06-02T15:30:00.000+05:30"),
            Some(ms)
        );
        assert_eq!(
            parse_mosip_request_time_ms("2026-06-02T10:00:00.000+00:00"),
            Some(ms)
        );
        for bad in [
            "2026-06-02T10:00:00Z",
            "2026-06-02T10:00:00.25Z",
            "2026-06-02T10:00:00.2500Z",
            "2026-06-02T10:00:00.250",
            "2026-06-02T10:00:00.250+0530",
            "2026-06-02 10:00:00.250Z",
        ] {
            assert_eq!(parse_mosip_request_time_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn millis_formats() {
        let ms = T * 1000 + 7;
        assert_eq!(
            format_millis_z(ms).as_deref(),
            Some("2026-06-02T10:00:00.007Z")
        );
        assert_eq!(
            format_millis_utc_offset(ms).as_deref(),
            Some("2026-06-02T10:00:00.007+00:00")
        );
        assert_eq!(
            format_millis_z(-1).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
        assert_eq!(format_millis_z(i64::MAX), None);
        assert_eq!(
            parse_mosip_request_time_ms(&format_millis_z(ms).unwrap()),
            Some(ms)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}", t in "[A-Za-z0-9 ,:+.TZ-]{0,32}") {
            for input in [s.as_str(), t.as_str()] {
                let _ = parse_http_date(input);
                let _ = parse_iso8601_ms(input);
                let _ = date_header_to_imf_fixdate(input);
                let _ = parse_rfc3339_ms(input);
                let _ = parse_mosip_request_time_ms(input);
            }
        }

        #[test]
        fn formats_round_trip(t in -62_135_596_800i64..253_402_300_800i64, ms in 0i64..1000) {
            let imf = format_imf_fixdate(t).unwrap();
            proptest::prop_assert_eq!(parse_imf_fixdate(&imf), Some(t));
            proptest::prop_assert_eq!(parse_http_date(&imf), Some(t));
            proptest::prop_assert_eq!(date_header_to_imf_fixdate(&imf), Some(imf));
            let millis = t * 1000 + ms;
            let z = format_millis_z(millis).unwrap();
            proptest::prop_assert_eq!(parse_rfc3339_ms(&z), Some(millis));
            proptest::prop_assert_eq!(parse_mosip_request_time_ms(&z), Some(millis));
            proptest::prop_assert_eq!(parse_iso8601_ms(&z), Some(millis));
            let off = format_millis_utc_offset(millis).unwrap();
            proptest::prop_assert_eq!(parse_rfc3339_ms(&off), Some(millis));
            proptest::prop_assert_eq!(parse_mosip_request_time_ms(&off), Some(millis));
        }

        #[test]
        fn arbitrary_instants_never_panic(t in proptest::prelude::any::<i64>()) {
            let _ = format_imf_fixdate(t);
            let _ = format_millis_z(t);
            let _ = format_millis_utc_offset(t);
        }
    }
}
