//! UTC calendar times from Unix nanoseconds, without a time-zone database.

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
    let (y, m, d, hh, mm, ss, ms) = civil(ns);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{ms:03} UTC")
}

/// `20240808T235414Z`, for file names that sort in time.
pub fn compact(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = civil(ns);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

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
