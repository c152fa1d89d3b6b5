//! Fixed-point decimal numbers: parsing and printing of exchange numbers as scaled integers.
//!
//! A value `v` at scale `s` is held as the integer `v × 10^s`. Prices are held at the market's
//! `price_precision`, amounts at its `amount_precision`. Parsing never rounds: a number with
//! more significant decimals than the scale is an error.

use std::fmt;

/// Powers of ten that fit an `i64`.
pub const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// Why a decimal string could not be held at a scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedError {
    /// Not a plain decimal number (`-`, digits, one optional `.`).
    Syntax,
    /// More non-zero decimals than the scale allows.
    TooPrecise { scale: u32 },
    /// Does not fit in 64 bits at this scale.
    Overflow,
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixedError::Syntax => write!(f, "not a decimal number"),
            FixedError::TooPrecise { scale } => write!(f, "more than {scale} decimals"),
            FixedError::Overflow => write!(f, "number too large"),
        }
    }
}

impl std::error::Error for FixedError {}

/// Parses a decimal such as `"61837.64"`, `"0.0001"`, `"15"` or `"-3.5"` into an integer at
/// `scale` decimals. Trailing zeros beyond the scale are accepted; other extra digits are not.
#[inline]
pub fn parse(s: &[u8], scale: u32) -> Result<i64, FixedError> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(_) => (false, s),
        None => return Err(FixedError::Syntax),
    };
    if digits.is_empty() {
        return Err(FixedError::Syntax);
    }
    let mut value: i64 = 0;
    let mut frac_digits: u32 = 0;
    let mut seen_dot = false;
    let mut any_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                any_digit = true;
                if seen_dot {
                    if frac_digits == scale {
                        if b != b'0' {
                            return Err(FixedError::TooPrecise { scale });
                        }
                        continue;
                    }
                    frac_digits += 1;
                }
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i64::from(b - b'0')))
                    .ok_or(FixedError::Overflow)?;
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(FixedError::Syntax),
        }
    }
    if !any_digit {
        return Err(FixedError::Syntax);
    }
    let pad = POW10[(scale - frac_digits) as usize];
    let value = value.checked_mul(pad).ok_or(FixedError::Overflow)?;
    Ok(if neg { -value } else { value })
}

/// Parses an unsigned decimal integer of ASCII digits, faster than `str::parse` for the
/// timestamps and sequence numbers on every record. `None` for an empty, non-digit or too
/// large number.
#[inline]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    if s.len() < 20 {
        // 19 digits always fit.
        for &b in s {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + u64::from(d);
        }
        return Some(v);
    }
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parses into 128 bits, for balances held at 16 decimals; see [`parse`].
pub fn parse_wide(s: &str, scale: u32) -> Result<i128, FixedError> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(if frac.bytes().all(|b| b.is_ascii_digit()) {
            FixedError::TooPrecise { scale }
        } else {
            FixedError::Syntax
        });
    }
    let (neg, int) = match int.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, int),
    };
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(FixedError::Syntax);
    }
    let mut text = String::with_capacity(int.len() + scale as usize);
    text.push_str(int);
    text.push_str(frac);
    for _ in frac.len()..scale as usize {
        text.push('0');
    }
    let v: i128 =
        if text.is_empty() { Ok(0) } else { text.parse() }.map_err(|_| FixedError::Overflow)?;
    Ok(if neg { -v } else { v })
}

/// Parses a `&str`; see [`parse`].
pub fn parse_str(s: &str, scale: u32) -> Result<i64, FixedError> {
    parse(s.as_bytes(), scale)
}

/// A scaled integer as a decimal, dropping the last digits (rounded) when it does not fit
/// rust_decimal's 96 bits and 28 decimals; saturating beyond them.
pub fn to_decimal(mut v: i128, mut scale: u32) -> rust_decimal::Decimal {
    loop {
        if scale <= 28 {
            if let Ok(d) = rust_decimal::Decimal::try_from_i128_with_scale(v, scale) {
                return d;
            }
        }
        if scale == 0 {
            return if v < 0 {
                rust_decimal::Decimal::MIN
            } else {
                rust_decimal::Decimal::MAX
            };
        }
        v = v / 10 + (v % 10) / 5;
        scale -= 1;
    }
}

/// Prints a scaled integer in Peatio's (Ruby BigDecimal) style: no trailing zeros, but always
/// one decimal place: `15.0`, `0.00083`, `61685.99`.
pub fn format(value: i128, scale: u32) -> String {
    let mut out = String::with_capacity(24);
    write_to(&mut out, value, scale);
    out
}

/// Appends [`format`]'s text to `out`.
pub fn write_to(out: &mut String, value: i128, scale: u32) {
    with_text(value, scale, |t| out.push_str(t));
}

/// Appends [`format`]'s text to `out`, as ASCII bytes.
pub fn write_bytes(out: &mut Vec<u8>, value: i128, scale: u32) {
    with_ascii(value, scale, |t| out.extend_from_slice(t));
}

/// Gives `f` [`format`]'s text, made on the stack.
#[inline]
pub fn with_text<R>(value: i128, scale: u32, f: impl FnOnce(&str) -> R) -> R {
    with_ascii(value, scale, |t| f(digits_str(t)))
}

/// [`with_text`] as ASCII bytes. Digits are written by hand, two at a time and 19 per 64-bit
/// chunk: result tables print millions of these.
#[inline]
fn with_ascii<R>(value: i128, scale: u32, f: impl FnOnce(&[u8]) -> R) -> R {
    // A sign, up to 39 integer digits (or one zero), the point, and up to 80 decimals: the
    // digits sit right-aligned over a field of zeros, so a value below one reads as `0.…`.
    // One more zero after the digits is the decimal of a whole number.
    const N: usize = 82;
    let mut buf = [b'0'; N + 3];
    let end = N + 2;
    let start = write_digits(&mut buf[2..end], value.unsigned_abs()) + 2;
    let scale = (scale as usize).min(N - 1);
    let point = end - scale;
    let frac_end = buf[point..end]
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(point + 1, |i| point + i + 1);
    // The integer part moves one place left to make room for the point.
    let int_start = start.min(point - 1);
    buf.copy_within(int_start..point, int_start - 1);
    buf[point - 1] = b'.';
    let mut from = int_start - 1;
    if value < 0 {
        from -= 1;
        buf[from] = b'-';
    }
    f(&buf[from..frac_end])
}

/// Appends an integer's digits (and sign), as ASCII bytes.
pub fn write_int(out: &mut Vec<u8>, value: i128) {
    let mut buf = [b'0'; 41];
    let mut from = write_digits(&mut buf[1..], value.unsigned_abs()) + 1;
    if value < 0 {
        from -= 1;
        buf[from] = b'-';
    }
    out.extend_from_slice(&buf[from..]);
}

/// Two-digit pairs `00` to `99`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `v` right-aligned at the end of `buf` (39 bytes at least); returns where its first
/// digit is.
#[inline]
fn write_digits(buf: &mut [u8], mut v: u128) -> usize {
    const CHUNK: u128 = 10_000_000_000_000_000_000;
    let mut i = buf.len();
    while v > u128::from(u64::MAX) {
        let c = (v % CHUNK) as u64;
        v /= CHUNK;
        write_u64(buf, i, c);
        // A full chunk: its leading zeros are digits.
        i -= 19;
    }
    write_u64(buf, i, v as u64)
}

/// Writes `w` ending at `buf[end]`; returns where its first digit is (`end - 1` for zero).
#[inline]
fn write_u64(buf: &mut [u8], end: usize, mut w: u64) -> usize {
    let mut i = end;
    while w >= 100 {
        let p = (w % 100) as usize * 2;
        w /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[p..p + 2]);
    }
    if w >= 10 {
        let p = w as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[p..p + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + w as u8;
    }
    i
}

fn digits_str(d: &[u8]) -> &str {
    std::str::from_utf8(d).expect("ASCII digits")
}

/// Prints a scaled integer with all `scale` decimals, for tables (`30000.00`).
pub fn format_fixed(value: i128, scale: u32) -> String {
    let unit = 10u128.pow(scale);
    let abs = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`format`] as plain arithmetic and `std::fmt`, to check the hand-written digits.
    fn format_by_fmt(value: i128, scale: u32) -> String {
        let sign = if value < 0 { "-" } else { "" };
        let abs = value.unsigned_abs();
        let unit = 10u128.pow(scale);
        let (int, mut frac) = (abs / unit, abs % unit);
        if frac == 0 {
            return format!("{sign}{int}.0");
        }
        let mut width = scale as usize;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        format!("{sign}{int}.{frac:0width$}")
    }

    #[test]
    fn digits_match_std_fmt() {
        let mut vals = vec![
            0i128,
            1,
            -1,
            9,
            10,
            100,
            61_602_015,
            i128::MAX,
            i128::MIN + 1,
        ];
        vals.extend([
            i128::from(u64::MAX),
            i128::from(u64::MAX) + 1,
            -i128::from(i64::MAX),
        ]);
        let mut x: u128 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = (x >> (x % 120)) as i128;
            vals.push(if x & 1 == 0 { v } else { -v });
            vals.push((v % 1_000_000) * 10i128.pow((x % 12) as u32));
        }
        vals.push(i128::MIN);
        for v in vals {
            for scale in [0, 1, 2, 6, 8, 16, 19, 20, 25, 38] {
                if v != i128::MIN {
                    assert_eq!(format(v, scale), format_by_fmt(v, scale), "{v} at {scale}");
                }
            }
            let mut s = Vec::new();
            write_int(&mut s, v);
            assert_eq!(s, v.to_string().as_bytes());
        }
    }

    #[test]
    fn prints_beyond_38_decimals() {
        assert_eq!(format(1, 60), format!("0.{}1", "0".repeat(59)));
        assert_eq!(format(-120, 81), format!("-0.{}12", "0".repeat(78)));
        assert_eq!(
            format(i128::MAX, 50),
            format!("0.{}{}", "0".repeat(11), i128::MAX)
        );
    }

    #[test]
    fn parses_at_scale() {
        assert_eq!(parse_str("61837.64", 2), Ok(6_183_764));
        assert_eq!(parse_str("61841.5", 2), Ok(6_184_150));
        assert_eq!(parse_str("0.0001", 6), Ok(100));
        assert_eq!(parse_str("15", 2), Ok(1500));
        assert_eq!(parse_str("1.500000000", 2), Ok(150));
        assert_eq!(parse_str("-3.5", 1), Ok(-35));
        assert_eq!(parse_str(".5", 1), Ok(5));
    }

    #[test]
    fn parses_integers() {
        assert_eq!(
            parse_u64(b"1723161254206652067"),
            Some(1_723_161_254_206_652_067)
        );
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }

    #[test]
    fn parses_wide() {
        assert_eq!(parse_wide("60000", 16), Ok(600_000_000_000_000_000_000));
        assert_eq!(parse_wide("0.0002507715", 16), Ok(2_507_715_000_000));
        assert_eq!(parse_wide("-1.5", 1), Ok(-15));
        assert_eq!(
            parse_wide("1.00000000000000001", 16),
            Err(FixedError::TooPrecise { scale: 16 })
        );
        assert_eq!(parse_wide("1x", 2), Err(FixedError::Syntax));
        assert_eq!(parse_wide("", 2), Err(FixedError::Syntax));
    }

    #[test]
    fn refuses_to_round() {
        assert_eq!(
            parse_str("0.001", 2),
            Err(FixedError::TooPrecise { scale: 2 })
        );
        assert_eq!(parse_str("", 2), Err(FixedError::Syntax));
        assert_eq!(parse_str("1e5", 2), Err(FixedError::Syntax));
        assert_eq!(parse_str("1.2.3", 2), Err(FixedError::Syntax));
        assert_eq!(parse_str(".", 2), Err(FixedError::Syntax));
        assert_eq!(
            parse_str("99999999999999999999", 0),
            Err(FixedError::Overflow)
        );
    }

    #[test]
    fn prints_peatio_style() {
        assert_eq!(format(1500, 2), "15.0");
        assert_eq!(format(83, 5), "0.00083");
        assert_eq!(format(6_168_599, 2), "61685.99");
        assert_eq!(format(-35, 1), "-3.5");
        assert_eq!(format(0, 8), "0.0");
        assert_eq!(format(7, 0), "7.0");
        assert_eq!(format_fixed(3_000_000, 2), "30000.00");
        assert_eq!(format_fixed(-5, 3), "-0.005");
    }
}
