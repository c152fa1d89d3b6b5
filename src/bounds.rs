//! The ranges configuration values are checked against, and refusals that state what is
//! allowed: `{value} is not from 0 to 100 (percent)`, `{value} is not more than 0 and at
//! most …`, `{value} is not at least 0 and less than 1`. Each range names its bounds, so a
//! refused value is always outside the range its message states.

use rust_decimal::Decimal;

/// Largest balance of one currency. Balances are held at 16 decimals, and a strategy reads them
/// as `rust_decimal` values, whose 96-bit mantissa holds 7,922,816,251,426.43… at 16 decimals:
/// the largest whole number of that.
pub const MAX_BALANCE: i64 = 7_922_816_251_426;

/// Largest order amount or price a strategy may be given: what the order and strategy
/// arithmetic in `rust_decimal` holds with room for a thousand levels of a thousand orders.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// Decimals balances are held at.
pub const BALANCE_DECIMALS: u32 = 16;

/// A value outside its range, with the range it must be in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{value} is not from {lo} to {hi}{note}")]
    NotFromTo {
        value: Decimal,
        lo: Decimal,
        hi: Decimal,
        note: &'static str,
    },
    #[error("{value} is not more than 0 and at most {hi}{note}")]
    NotPositive {
        value: Decimal,
        hi: Decimal,
        note: &'static str,
    },
    #[error("{0} is not at least 0 and less than 1 (a rate)")]
    NotARate(Decimal),
    #[error("{value} is not from {lo} to {hi}")]
    NotACount { value: u64, lo: u64, hi: u64 },
    #[error("{value} has more than {scale} decimals")]
    TooPrecise { value: Decimal, scale: u32 },
}

/// `v` from `lo` to `hi`, both included; `note` follows the range (" (percent)").
pub fn from_to(v: Decimal, lo: Decimal, hi: Decimal, note: &'static str) -> Result<(), Refused> {
    if lo <= v && v <= hi {
        Ok(())
    } else {
        Err(Refused::NotFromTo {
            value: v,
            lo,
            hi,
            note,
        })
    }
}

/// `v` more than 0 and at most `hi`.
pub fn positive(v: Decimal, hi: Decimal, note: &'static str) -> Result<(), Refused> {
    if Decimal::ZERO < v && v <= hi {
        Ok(())
    } else {
        Err(Refused::NotPositive { value: v, hi, note })
    }
}

/// `v` at least 0 and less than 1: a fee rate.
pub fn rate(v: Decimal) -> Result<(), Refused> {
    if Decimal::ZERO <= v && v < Decimal::ONE {
        Ok(())
    } else {
        Err(Refused::NotARate(v))
    }
}

/// A whole number from `lo` to `hi`.
pub fn count(v: u64, lo: u64, hi: u64) -> Result<(), Refused> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Refused::NotACount { value: v, lo, hi })
    }
}

/// A starting balance: from 0 to [`MAX_BALANCE`], with at most 16 decimals.
pub fn balance(v: Decimal) -> Result<(), Refused> {
    from_to(v, Decimal::ZERO, Decimal::from(MAX_BALANCE), "")?;
    let scale = BALANCE_DECIMALS;
    if v.scale() > scale && v.normalize().scale() > scale {
        return Err(Refused::TooPrecise { value: v, scale });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_balance_fits_rust_decimal_at_16_decimals() {
        let units = i128::from(MAX_BALANCE) * 10i128.pow(16);
        assert!(Decimal::try_from_i128_with_scale(units, 16).is_ok());
        let next = i128::from(MAX_BALANCE + 1) * 10i128.pow(16);
        assert!(Decimal::try_from_i128_with_scale(next, 16).is_err());
    }
}
