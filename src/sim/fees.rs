//! The fee schedule (docs/protocol.md §5): maker and taker rates by market and 30-day volume
//! tier.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Decimals of a fee rate (Peatio's trading-fee table keeps 6).
pub use crate::value::RATE_SCALE;

/// A maker and a taker rate, in millionths (2500 = 0.25 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    pub maker: i64,
    pub taker: i64,
}

/// Rates that apply from a 30-day traded volume (in the market's quote, at 16 decimals) up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub min_volume: i128,
    pub rates: Rates,
}

/// In which asset fees are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeeMode {
    /// Peatio: in the asset received (buy → base, sell → quote).
    #[default]
    Received,
    /// Hummingbot's paper trade: always in quote, on top of the trade's total.
    Quote,
}

/// Which rates apply to a fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub default: Rates,
    /// Per-market rates, replacing the default.
    #[serde(default)]
    pub markets: BTreeMap<String, Rates>,
    /// Volume tiers, lowest first; the highest tier whose `min_volume` the trailing volume
    /// reaches replaces the market's rates.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub mode: FeeMode,
}

impl Default for FeeSchedule {
    /// 0.25 % maker and 0.25 % taker, as Hummingbot assumed for Altmarkets.
    fn default() -> Self {
        FeeSchedule {
            default: Rates {
                maker: 2500,
                taker: 2500,
            },
            markets: BTreeMap::new(),
            tiers: Vec::new(),
            mode: FeeMode::Received,
        }
    }
}

impl FeeSchedule {
    /// The rates for `market` given the trailing 30-day volume.
    pub fn rates(&self, market: &str, volume_30d: i128) -> Rates {
        let tier = self
            .tiers
            .iter()
            .rev()
            .find(|t| volume_30d >= t.min_volume)
            .map(|t| t.rates);
        tier.or_else(|| self.markets.get(market).copied())
            .unwrap_or(self.default)
    }
}

impl FeeSchedule {
    /// The higher of the market's maker and taker rates before any tier: what a `quote`-mode
    /// buy locks on top of its total.
    pub fn default_max_rate(&self, market: &str) -> i64 {
        let r = self.rates(market, 0);
        r.maker.max(r.taker)
    }
}

/// `amount × rate`, rounded half up at the amount's scale (as a `decimal(32,16)` column
/// stores it).
pub fn fee_of(amount: i128, rate: i64) -> i128 {
    let unit = 10i128.pow(RATE_SCALE);
    let exact = amount * i128::from(rate);
    (exact + unit / 2).div_euclid(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_overrides() {
        let mut s = FeeSchedule::default();
        s.markets.insert(
            "dogebtc".into(),
            Rates {
                maker: 1000,
                taker: 2000,
            },
        );
        s.tiers.push(Tier {
            min_volume: 100,
            rates: Rates {
                maker: 0,
                taker: 500,
            },
        });
        assert_eq!(s.rates("btcusdt", 0).maker, 2500);
        assert_eq!(s.rates("dogebtc", 99).taker, 2000);
        assert_eq!(s.rates("dogebtc", 100).taker, 500);
        assert_eq!(fee_of(2_514_000_000_000, 2500), 6_285_000_000);
        assert_eq!(fee_of(3, 500_000), 2);
    }
}
