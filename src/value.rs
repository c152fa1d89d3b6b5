//! Exchange values that know their decimal scale: [`Price`], [`Amount`], [`Funds`] (balances,
//! totals and fees) and [`Rate`] (fee rates).
//!
//! A value is an integer count of `10^-scale` units with its scale beside it, as the exchange
//! holds it: prices at the market's price precision, amounts at its amount precision,
//! balances at 16 decimals, fee rates in millionths. Arithmetic is checked and exact: a sum
//! of two scales is taken at the finer one, a result that does not fit is `None`, and
//! nothing is ever rounded. Conversions to and from [`Decimal`] go through the mantissa, never
//! through text.

use crate::fixed::{self, FixedError};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::fmt;

/// Most decimals a value may have (an `i128` holds `10^38`).
pub const MAX_SCALE: u32 = 38;

/// Decimals a [`Rate`] is held at: millionths.
pub const RATE_SCALE: u32 = 6;

/// `10^k` as an `i128`, when it fits.
fn pow10(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

/// `raw × 10^-from` at scale `to`, exactly; `None` when it has more decimals than `to` or
/// does not fit.
fn rescale(raw: i128, from: u32, to: u32) -> Option<i128> {
    match to.cmp(&from) {
        Ordering::Equal => Some(raw),
        Ordering::Greater => raw.checked_mul(pow10(to - from)?),
        Ordering::Less => {
            let p = pow10(from - to)?;
            (raw % p == 0).then(|| raw / p)
        }
    }
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The operations every value type shares, on its widened form.
/// Text that is not a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {source}")]
pub struct ValueTextError {
    pub text: String,
    pub source: FixedError,
}

macro_rules! scaled {
    ($(#[$doc:meta])* $name:ident, $raw:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            raw: $raw,
            scale: u8,
        }

        impl $name {
            /// `raw × 10^-scale`. Scales past [`MAX_SCALE`] are held at it.
            #[inline]
            pub fn new(raw: impl Into<$raw>, scale: u32) -> Self {
                Self {
                    raw: raw.into(),
                    scale: scale.min(MAX_SCALE) as u8,
                }
            }

            /// Zero at `scale`.
            pub fn zero(scale: u32) -> Self {
                Self::new(0, scale)
            }

            /// The count of `10^-scale` units.
            #[inline]
            pub const fn raw(self) -> $raw {
                self.raw
            }

            /// Its decimals.
            #[inline]
            pub const fn scale(self) -> u32 {
                self.scale as u32
            }

            pub const fn is_zero(self) -> bool {
                self.raw == 0
            }

            pub const fn is_positive(self) -> bool {
                self.raw > 0
            }

            pub const fn is_negative(self) -> bool {
                self.raw < 0
            }

            /// The same value at `scale`, when it has no more decimals than that and fits.
            pub fn at(self, scale: u32) -> Option<Self> {
                let wide = rescale(self.raw as i128, self.scale(), scale)?;
                Some(Self::new(<$raw>::try_from(wide).ok()?, scale))
            }

            /// Its count of `10^-scale` units at another `scale`, widened, when it has no more
            /// decimals than that and fits.
            pub fn units_at(self, scale: u32) -> Option<i128> {
                rescale(self.raw as i128, self.scale(), scale)
            }

            /// Both values at the finer of their scales.
            fn aligned(self, other: Self) -> Option<($raw, $raw, u32)> {
                let s = self.scale().max(other.scale());
                Some((self.at(s)?.raw, other.at(s)?.raw, s))
            }

            /// `self + other` at the finer scale; `None` when it does not fit.
            pub fn checked_add(self, other: Self) -> Option<Self> {
                let (a, b, s) = self.aligned(other)?;
                Some(Self::new(a.checked_add(b)?, s))
            }

            /// `self − other` at the finer scale; `None` when it does not fit.
            pub fn checked_sub(self, other: Self) -> Option<Self> {
                let (a, b, s) = self.aligned(other)?;
                Some(Self::new(a.checked_sub(b)?, s))
            }

            pub fn checked_neg(self) -> Option<Self> {
                Some(Self::new(self.raw.checked_neg()?, self.scale()))
            }

            /// The smaller of two values of one scale; `None` across scales.
            pub fn min(self, other: Self) -> Option<Self> {
                Some(if self.partial_cmp(&other)? == Ordering::Greater {
                    other
                } else {
                    self
                })
            }

            /// The exact decimal, mantissa and scale alike; when it does not fit a `Decimal`
            /// (28 decimals, 96 bits), its last digits are rounded away.
            pub fn to_decimal(self) -> Decimal {
                fixed::to_decimal(self.raw as i128, self.scale())
            }

            /// `d` at `scale`, exactly: an error when `d` has more decimals than `scale` or
            /// does not fit.
            pub fn from_decimal(d: Decimal, scale: u32) -> Result<Self, FixedError> {
                if scale > MAX_SCALE {
                    return Err(FixedError::Overflow);
                }
                let (m, s) = (d.mantissa(), d.scale());
                let wide = if scale >= s {
                    pow10(scale - s)
                        .and_then(|p| m.checked_mul(p))
                        .ok_or(FixedError::Overflow)?
                } else {
                    let p = pow10(s - scale).ok_or(FixedError::Overflow)?;
                    if m % p != 0 {
                        return Err(FixedError::TooPrecise { scale });
                    }
                    m / p
                };
                let raw = <$raw>::try_from(wide).map_err(|_| FixedError::Overflow)?;
                Ok(Self::new(raw, scale))
            }

            /// Its text as the exchange prints it: no trailing zeros, one decimal at least.
            pub fn text(self) -> String {
                fixed::format(self.raw as i128, self.scale())
            }

            /// The decimal its [`text`](Self::text) parses to, mantissa and scale alike (0
            /// when that does not fit a `Decimal`, as the text would not).
            pub fn text_decimal(self) -> Decimal {
                Funds::from(self).text_decimal_wide()
            }

            /// The nearest `f64`, as its text parses to.
            pub fn to_f64(self) -> f64 {
                Funds::from(self).to_f64_wide()
            }

            /// Reads text at the decimals it is written with; `None` for an empty field.
            pub fn parse(s: &str) -> Result<Option<Self>, ValueTextError> {
                if s.is_empty() {
                    return Ok(None);
                }
                let bad = |source| ValueTextError {
                    text: s.to_string(),
                    source,
                };
                let scale = s.find('.').map_or(0, |i| s.len() - i - 1) as u32;
                let wide = fixed::parse_wide(s, scale).map_err(bad)?;
                let raw = <$raw>::try_from(wide).map_err(|_| bad(FixedError::Overflow))?;
                Ok(Some(Self::new(raw, scale)))
            }
        }

        /// Ordered within one scale; values of two scales are not compared.
        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                (self.scale == other.scale).then(|| self.raw.cmp(&other.raw))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fixed::with_text(self.raw as i128, self.scale(), |t| f.write_str(t))
            }
        }
    };
}

scaled!(
    /// A price at the market's price precision, or finer (a mid has one more decimal). Held
    /// in 128 bits, so a mid of two prices of 64 bits always fits.
    Price,
    i128
);
scaled!(
    /// An amount of the base currency at the market's amount precision.
    Amount,
    i64
);
scaled!(
    /// An amount of any currency at any scale: balances (16 decimals), fees, an order's
    /// cost or a fill's total (price × amount, at the sum of their precisions).
    Funds,
    i128
);

impl From<Price> for Funds {
    fn from(p: Price) -> Funds {
        Funds::new(p.raw, p.scale())
    }
}

impl From<Amount> for Funds {
    fn from(a: Amount) -> Funds {
        Funds::new(a.raw, a.scale())
    }
}

impl From<Rate> for Funds {
    fn from(r: Rate) -> Funds {
        Funds::new(r.0, RATE_SCALE)
    }
}

impl Price {
    /// `price × amount`, at the sum of their scales (a fill's total, an order's cost).
    pub fn times(self, amount: Amount) -> Option<Funds> {
        let raw = self.raw.checked_mul(i128::from(amount.raw))?;
        let scale = self.scale() + amount.scale();
        (scale <= MAX_SCALE).then(|| Funds::new(raw, scale))
    }
}

impl Funds {
    fn text_decimal_wide(self) -> Decimal {
        // The text has no trailing zeros but always one decimal.
        let (mut m, mut k) = match self.scale() {
            0 => match self.raw.checked_mul(10) {
                Some(m) => (m, 1),
                None => return self.parsed(),
            },
            s => (self.raw, s),
        };
        while k > 1 && m % 10 == 0 {
            m /= 10;
            k -= 1;
        }
        if k <= 28 {
            if let Ok(d) = Decimal::try_from_i128_with_scale(m, k) {
                return d;
            }
        }
        self.parsed()
    }

    fn to_f64_wide(self) -> f64 {
        // One correctly rounded division of two exact values is the nearest f64 itself.
        if self.raw.unsigned_abs() <= 1 << 53 && (self.scale as usize) < EXACT_POW10.len() {
            return self.raw as f64 / EXACT_POW10[self.scale as usize];
        }
        self.parsed()
    }

    fn parsed<T: std::str::FromStr + Default>(self) -> T {
        fixed::with_text(self.raw, self.scale(), |t| t.parse().unwrap_or_default())
    }
}

/// A fee rate, in millionths: `0.002` is 2,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Rate(i64);

impl Rate {
    pub const ZERO: Rate = Rate(0);

    /// A rate of `millionths / 10⁶`.
    pub const fn from_millionths(millionths: i64) -> Rate {
        Rate(millionths)
    }

    pub const fn millionths(self) -> i64 {
        self.0
    }

    /// `d`, exactly: an error when it has more than six decimals or does not fit.
    pub fn from_decimal(d: Decimal) -> Result<Rate, FixedError> {
        Funds::from_decimal(d, RATE_SCALE)
            .and_then(|f| i64::try_from(f.raw()).map_err(|_| FixedError::Overflow))
            .map(Rate)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, RATE_SCALE)
    }

    /// Its text as the exchange prints it (`0.002`).
    pub fn text(self) -> String {
        Funds::from(self).text()
    }

    /// The nearest `f64`.
    pub fn to_f64(self) -> f64 {
        Funds::from(self).to_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Funds::from(*self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn decimals_convert_exactly_both_ways() {
        for (text, scale, raw) in [
            ("61837.64", 2, 6_183_764i128),
            ("61837.6400", 2, 6_183_764),
            ("0.0001", 4, 1),
            ("0.0001", 8, 10_000),
            ("-3.5", 1, -35),
            ("15", 0, 15),
            ("15", 6, 15_000_000),
        ] {
            let p = Price::from_decimal(d(text), scale).unwrap();
            assert_eq!((p.raw(), p.scale()), (raw, scale), "{text} at {scale}");
            assert_eq!(p.to_decimal(), d(text), "{text} back");
            assert_eq!(p.text_decimal(), d(&p.text()), "{text} as its text");
        }
        assert_eq!(
            Amount::from_decimal(d("0.12345"), 4),
            Err(FixedError::TooPrecise { scale: 4 })
        );
        assert_eq!(
            Amount::from_decimal(d("100000000000"), 10),
            Err(FixedError::Overflow)
        );
        assert_eq!(
            Funds::from_decimal(d("100000000000"), 16).unwrap().raw(),
            10i128.pow(27)
        );
    }

    #[test]
    fn arithmetic_is_checked_and_exact_across_scales() {
        let a = Amount::new(15, 1);
        let b = Amount::new(25, 2);
        assert_eq!(a.checked_add(b), Some(Amount::new(175, 2)));
        assert_eq!(a.checked_sub(b), Some(Amount::new(125, 2)));
        assert_eq!(
            Amount::new(i64::MAX, 0).checked_add(Amount::new(1, 0)),
            None
        );
        assert_eq!(Amount::new(i64::MAX, 0).at(1), None);
        assert_eq!(Amount::new(120, 2).at(1), Some(Amount::new(12, 1)));
        assert_eq!(Amount::new(125, 2).at(1), None);
        assert_eq!(a.partial_cmp(&b), None);
        assert!(Amount::new(1, 2) < Amount::new(2, 2));
        assert_eq!(
            Price::new(6_183_764, 2).times(Amount::new(5, 4)),
            Some(Funds::new(30_918_820, 6))
        );
        assert_eq!(Price::new(i128::MAX, 30).times(Amount::new(2, 0)), None);
    }

    #[test]
    fn text_and_floats_are_as_the_text_parses() {
        for (raw, scale) in [
            (0i128, 0u32),
            (15, 0),
            (1, 16),
            (-6_183_764, 2),
            (123_456_789_012_345_678, 3),
            (i128::MAX, 16),
            (i128::MIN + 1, 38),
        ] {
            let f = Funds::new(raw, scale);
            let text = f.text();
            assert_eq!(f.to_f64(), text.parse::<f64>().unwrap(), "{text}");
            assert_eq!(
                f.text_decimal(),
                Decimal::from_str(&text).unwrap_or_default(),
                "{text}"
            );
            assert_eq!(Funds::parse(&text).unwrap().unwrap().text(), text);
            assert_eq!(f.to_string(), text);
        }
        assert_eq!(Price::parse(""), Ok(None));
        assert!(Amount::parse("99999999999999999999").is_err());
    }

    #[test]
    fn rates_are_millionths() {
        let r = Rate::from_decimal(d("0.002")).unwrap();
        assert_eq!(r.millionths(), 2_000);
        assert_eq!(r.text(), "0.002");
        assert_eq!(r.to_decimal(), d("0.002"));
        assert_eq!(
            Rate::from_decimal(d("0.0000001")),
            Err(FixedError::TooPrecise { scale: 6 })
        );
    }
}
