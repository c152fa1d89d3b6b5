//! `summary.json`: PnL, fees, volume, fills and the statistics of the equity series.

use super::tables::{RunInfo, Tables};
use crate::fixed;
use crate::sim::BALANCE_SCALE;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything `summary.json` holds. Money is exact decimal text; ratios are rounded for
/// reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub strategy: String,
    pub market: String,
    pub start_utc: String,
    pub end_utc: String,
    pub events: u64,
    pub initial_equity: String,
    pub final_equity: String,
    /// Final equity less initial equity, in quote.
    pub pnl_total: String,
    /// The part of the PnL closed by trades (total less unrealized).
    pub pnl_realized: String,
    /// Inventory change valued at the final mid against its average cost.
    pub pnl_unrealized: String,
    pub fees: BTreeMap<String, String>,
    pub volume_base: String,
    pub volume_quote: String,
    pub orders_placed: u64,
    pub fills: u64,
    pub maker_fills: u64,
    pub taker_fills: u64,
    /// Filled base over the base of every order accepted.
    pub fill_ratio: String,
    /// Quote volume over initial equity.
    pub turnover: String,
    pub max_drawdown: String,
    pub max_drawdown_pct: String,
    /// Of the equity series' per-interval returns, annualized.
    pub sharpe: String,
    pub sortino: String,
    pub inventory_min: String,
    pub inventory_max: String,
}

fn wide(s: &str, scale: u32) -> i128 {
    fixed::parse_wide(s, scale).unwrap_or(0)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn ratio(num: Decimal, den: Decimal) -> String {
    if den.is_zero() {
        return "0".into();
    }
    (num / den).round_dp(6).normalize().to_string()
}

/// Computes the summary of a run from its tables.
pub fn summarize(info: &RunInfo, t: &Tables) -> Summary {
    let es = info.equity_scale;
    let first = t.equity.first();
    let last = t.equity.last();
    let e0 = first.map_or(0, |r| wide(&r.equity, es));
    let e1 = last.map_or(0, |r| wide(&r.equity, es));
    let mut fees: BTreeMap<String, i128> = BTreeMap::new();
    let (mut vb, mut vq, mut maker) = (Decimal::ZERO, Decimal::ZERO, 0u64);
    // Average cost of the inventory, starting from the first row valued at its mid.
    let mut pos = first.map_or(Decimal::ZERO, |r| dec(&r.base));
    let mut cost = pos * first.map_or(Decimal::ZERO, |r| dec(&r.mid));
    for f in &t.fills {
        *fees.entry(f.fee_currency.clone()).or_default() += wide(&f.fee, BALANCE_SCALE);
        let (amount, total) = (dec(&f.amount), dec(&f.total));
        vb += amount;
        vq += total;
        maker += u64::from(f.liquidity == "maker");
        let fee = dec(&f.fee);
        if f.side == "buy" {
            let got = if f.fee_currency == info.base_unit {
                amount - fee
            } else {
                amount
            };
            let paid = total
                + if f.fee_currency == info.quote_unit {
                    fee
                } else {
                    Decimal::ZERO
                };
            pos += got;
            cost += paid;
        } else if pos > Decimal::ZERO {
            let avg = cost / pos;
            pos -= amount;
            cost = avg * pos.max(Decimal::ZERO);
        } else {
            pos -= amount;
        }
    }
    let mid1 = last.map_or(Decimal::ZERO, |r| dec(&r.mid));
    let base1 = last.map_or(Decimal::ZERO, |r| dec(&r.base));
    let unreal = if base1 > Decimal::ZERO && pos > Decimal::ZERO {
        base1 * (mid1 - cost / pos)
    } else {
        Decimal::ZERO
    };
    let total = Decimal::from_i128_with_scale(e1 - e0, es);
    // Drawdown, returns and inventory from the equity series.
    let (mut peak, mut dd, mut dd_pct) = (i128::MIN, 0i128, 0f64);
    let mut returns = Vec::new();
    let (mut inv_min, mut inv_max) = (None::<Decimal>, None::<Decimal>);
    let mut prev: Option<i128> = None;
    for r in &t.equity {
        let e = wide(&r.equity, es);
        peak = peak.max(e);
        if peak - e > dd {
            dd = peak - e;
            dd_pct = if peak > 0 {
                (peak - e) as f64 / peak as f64 * 100.0
            } else {
                0.0
            };
        }
        if let Some(p) = prev.filter(|p| *p > 0) {
            returns.push((e - p) as f64 / p as f64);
        }
        prev = Some(e);
        let b = dec(&r.base);
        inv_min = Some(inv_min.map_or(b, |m| m.min(b)));
        inv_max = Some(inv_max.map_or(b, |m| m.max(b)));
    }
    let per_year = (365.0 * 86_400e9 / info.equity_interval_ns.max(1) as f64).sqrt();
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let down = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    let stat = |d: f64| {
        if d > 0.0 {
            format!("{:.4}", mean / d * per_year)
        } else {
            "0".into()
        }
    };
    let placed = dec(&info.volume_placed);
    let initial = Decimal::from_i128_with_scale(e0, es);
    let q = |d: Decimal| d.normalize().to_string();
    Summary {
        scenario: info.scenario.clone(),
        strategy: info.strategy.clone(),
        market: info.market.clone(),
        start_utc: first.map_or(String::new(), |r| r.time_utc.clone()),
        end_utc: last.map_or(String::new(), |r| r.time_utc.clone()),
        events: info.events,
        initial_equity: fixed::format(e0, es),
        final_equity: fixed::format(e1, es),
        pnl_total: fixed::format(e1 - e0, es),
        pnl_realized: q((total - unreal).round_dp(es)),
        pnl_unrealized: q(unreal.round_dp(es)),
        fees: fees
            .into_iter()
            .map(|(c, f)| (c, fixed::format(f, BALANCE_SCALE)))
            .collect(),
        volume_base: q(vb),
        volume_quote: q(vq),
        orders_placed: info.orders_placed,
        fills: t.fills.len() as u64,
        maker_fills: maker,
        taker_fills: t.fills.len() as u64 - maker,
        fill_ratio: ratio(vb, placed),
        turnover: ratio(vq, initial),
        max_drawdown: fixed::format(dd, es),
        max_drawdown_pct: format!("{dd_pct:.4}"),
        sharpe: stat(sd),
        sortino: stat(down),
        inventory_min: q(inv_min.unwrap_or_default()),
        inventory_max: q(inv_max.unwrap_or_default()),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quote = self.market.clone();
        let rows = [
            ("scenario", self.scenario.clone()),
            ("strategy", format!("{} on {quote}", self.strategy)),
            ("period", format!("{} → {}", self.start_utc, self.end_utc)),
            ("events", crate::inspect::thousands(self.events)),
            (
                "PnL",
                format!(
                    "{} (realized {}, unrealized {})",
                    self.pnl_total, self.pnl_realized, self.pnl_unrealized
                ),
            ),
            (
                "equity",
                format!("{} → {}", self.initial_equity, self.final_equity),
            ),
            (
                "fills",
                format!(
                    "{} ({} maker, {} taker) of {} orders, fill ratio {}",
                    self.fills,
                    self.maker_fills,
                    self.taker_fills,
                    self.orders_placed,
                    self.fill_ratio
                ),
            ),
            (
                "volume",
                format!(
                    "{} base, {} quote, turnover {}",
                    self.volume_base, self.volume_quote, self.turnover
                ),
            ),
            (
                "fees",
                self.fees
                    .iter()
                    .map(|(c, v)| format!("{v} {c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "drawdown",
                format!("{} ({}%)", self.max_drawdown, self.max_drawdown_pct),
            ),
            (
                "sharpe",
                format!("{} (sortino {})", self.sharpe, self.sortino),
            ),
            (
                "inventory",
                format!("{} … {}", self.inventory_min, self.inventory_max),
            ),
        ];
        for (k, v) in rows {
            writeln!(f, "{k:<10} {v}")?;
        }
        Ok(())
    }
}
