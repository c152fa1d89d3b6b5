//! UTC calendar times from Unix nanoseconds, without a time-zone database.

/// The wall clock as Unix ns: for receive times of live data and for nonces, never for
/// anything a replay computes.
pub fn wall_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Calendar fields of a Unix time in ns: (year, month, day, hour, minute, second, ms).
pub fn civil(ns: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let secs = ns.div_euclid(1_000_000_000);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60, ms)
}

/// `2024-08-08 23:54:14.206 UTC`
pub fn utc(ns: i64) -> String {
    let mut out = Vec::with_capacity(27);
    write_utc(&mut out, ns);
    String::from_utf8(out).expect("ASCII")
}

/// Appends [`utc`]'s text to `out`, as ASCII bytes.
pub fn write_utc(out: &mut Vec<u8>, ns: i64) {
    let (y, m, d, hh, mm, ss, ms) = civil(ns);
    // i64 nanoseconds span the years 1677 to 2262: always four digits. Written by hand, as
    // every row of the result tables carries one.
    let mut b = *b"0000-00-00 00:00:00.000 UTC";
    for (at, v, width) in [
        (0, y, 4),
        (5, m, 2),
        (8, d, 2),
        (11, hh, 2),
        (14, mm, 2),
        (17, ss, 2),
        (20, ms, 3),
    ] {
        let mut v = v;
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    out.extend_from_slice(&b);
}

/// `2024-08-08T23:54:14+00:00`: Peatio's ISO-8601 times (whole seconds).
pub fn iso(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = civil(ns);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
}

/// `20240808T235414Z`, for file names that sort in time.
pub fn compact(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = civil(ns);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// The latest time altsim works with: 2200-01-01T00:00:00Z, as Unix ns. The i64 nanosecond
/// clock ends in April 2262, so the 62 years beyond hold every sum of a time and a duration
/// (at most ten years, [`MAX_SECS`]) or a latency (at most a day): no clock sum can overflow.
/// Receive times and scenario dates past it are refused.
pub const MAX_TIME_NS: i64 = 7_258_118_400 * 1_000_000_000;

/// The longest duration a scenario may give: ten years of 365 days.
pub const MAX_SECS: f64 = 315_360_000.0;

/// A time or duration that is not one altsim takes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimeError {
    #[error("{0:?} is not a number of seconds from 0 to {MAX_SECS} (ten years)")]
    NotSeconds(f64),
    #[error("{0:?} is not a UTC time like 2024-08-08T23:55:00Z")]
    NotUtc(String),
    #[error("{text:?}: {year:04}-{month:02} has no day {day}")]
    NoSuchDay {
        text: String,
        year: i64,
        month: i64,
        day: i64,
    },
    #[error("{text:?}: {h:02}:{m:02}:{s:02} is not a time of day")]
    NotATimeOfDay {
        text: String,
        h: i64,
        m: i64,
        s: i64,
    },
    #[error(
        "{0:?} is not from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z (the times altsim's \
         nanosecond clock works with)"
    )]
    OutOfClock(String),
}

/// A duration in seconds as ns: finite, not negative, at most [`MAX_SECS`].
pub fn secs_ns(v: f64) -> Result<i64, TimeError> {
    if v.is_finite() && (0.0..=MAX_SECS).contains(&v) {
        Ok((v * 1e9).round() as i64)
    } else {
        Err(TimeError::NotSeconds(v))
    }
}

/// Days in a month of the proleptic Gregorian calendar.
fn month_days(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Digits only, exactly `n` of them.
fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `2024-08-08T23:55:00Z` (optionally with `.fff…` and `+00:00` for `Z`) → Unix ns. Dates that
/// do not exist (`2024-02-30`), fields out of range and times outside 1970-01-01 to
/// 2200-01-01 ([`MAX_TIME_NS`]) are errors, never shifted.
pub fn parse_utc(s: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::NotUtc(s.to_string());
    let body = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("+00:00"))
        .ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<&str> = hms.split(':').collect();
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let field = |s: &str, n| digits(s, n).ok_or_else(bad);
    let (y, m, day) = (field(d[0], 4)?, field(d[1], 2)?, field(d[2], 2)?);
    let (hh, mm, ss) = (field(t[0], 2)?, field(t[1], 2)?, field(t[2], 2)?);
    if !(1..=12).contains(&m) || !(1..=month_days(y, m)).contains(&day) {
        return Err(TimeError::NoSuchDay {
            text: s.to_string(),
            year: y,
            month: m,
            day,
        });
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(TimeError::NotATimeOfDay {
            text: s.to_string(),
            h: hh,
            m: mm,
            s: ss,
        });
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // Years have four digits, so the seconds always fit; the nanoseconds may not.
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    secs.checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(nanos))
        .filter(|ns| (0..=MAX_TIME_NS).contains(ns))
        .ok_or_else(|| TimeError::OutOfClock(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_matches_std_fmt_over_the_whole_range() {
        let mut t = i64::MIN;
        let step = (i64::MAX / 5_000) * 2 + 7_654_321;
        while let Some(next) = t.checked_add(step) {
            let (y, m, d, hh, mm, ss, ms) = civil(t);
            let want = format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{ms:03} UTC");
            assert_eq!(utc(t), want, "{t}");
            t = next;
        }
        assert_eq!(utc(i64::MAX), "2262-04-11 23:47:16.854 UTC");
        assert_eq!(utc(i64::MIN), "1677-09-21 00:12:43.145 UTC");
    }

    #[test]
    fn parses_only_real_times() {
        assert_eq!(
            parse_utc("2024-08-08T23:54:14.206Z").unwrap(),
            1_723_161_254_206_000_000
        );
        assert_eq!(parse_utc("1970-01-01T00:00:00+00:00").unwrap(), 0);
        assert_eq!(parse_utc("2200-01-01T00:00:00Z").unwrap(), MAX_TIME_NS);
        assert_eq!(
            parse_utc("2024-02-29T00:00:00Z").unwrap(),
            1_709_164_800_000_000_000
        );
        for bad in [
            "2024-13-01T00:00:00Z",
            "2024-06-31T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-08-08T-1:00:00Z",
            "2024-08-08T24:00:00Z",
            "2024-08-08T23:59:60Z",
            "+2024-08-08T00:00:00Z",
            "2024-8-8T00:00:00Z",
            "yesterday",
            "2500-01-01T00:00:00Z",
            "2300-01-01T00:00:00Z",
            "2262-04-11T23:47:16Z",
            "2200-01-01T00:00:00.000000001Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad}");
        }
        assert_eq!(
            utc(parse_utc("2000-02-29T12:00:00Z").unwrap()),
            "2000-02-29 12:00:00.000 UTC"
        );
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(secs_ns(1.5), Ok(1_500_000_000));
        for bad in [f64::INFINITY, f64::NAN, -1.0, 1e300, MAX_SECS * 2.0] {
            assert!(secs_ns(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_times() {
        assert_eq!(
            utc(1_723_161_254_206_652_067),
            "2024-08-08 23:54:14.206 UTC"
        );
        assert_eq!(compact(0), "19700101T000000Z");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(utc(-1_000_000_000), "1969-12-31 23:59:59.000 UTC");
    }
}
