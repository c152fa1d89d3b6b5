//! `summary.json`: PnL, fees, volume, fills and the statistics of the equity series.

use super::analytics::{AttributionReport, Quoting};
use super::markouts::MarkoutStat;
use super::records::{EquityRecord, FillRecord};
use super::tables::RunInfo;
use crate::fixed;
use crate::sim::BALANCE_SCALE;
use crate::value::{Funds, Price};
use crate::venue::Side;
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
    /// Of the equity series' per-interval returns, annualized by the intervals in a year;
    /// only when the run spans at least a day (null otherwise).
    pub sharpe: Option<String>,
    pub sortino: Option<String>,
    /// Of the per-interval returns as they are (mean over standard deviation, and over the
    /// downside deviation), not annualized.
    #[serde(default)]
    pub sharpe_per_interval: String,
    #[serde(default)]
    pub sortino_per_interval: String,
    pub inventory_min: String,
    pub inventory_max: String,
    /// Where the PnL came from (docs/analytics.md).
    #[serde(default)]
    pub attribution: Option<AttributionReport>,
    /// Per markout horizon.
    #[serde(default)]
    pub markouts: Vec<MarkoutStat>,
    #[serde(default)]
    pub quoting: Option<Quoting>,
    /// Problems in the data that may have affected the results: cut files, malformed
    /// frames, sequence gaps, crossed books, jumps in receive time.
    #[serde(default)]
    pub data_warnings: Vec<String>,
}

/// Runs at least this long have their Sharpe and Sortino ratios annualized.
pub const DAY_NS: i64 = 86_400_000_000_000;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn ratio(num: Decimal, den: Decimal) -> String {
    match num.checked_div(den) {
        Some(r) if !den.is_zero() => r.round_dp(6).normalize().to_string(),
        _ => "0".into(),
    }
}

/// A decimal as an integer at `scale` (rounded), saturating.
fn to_scaled(d: Decimal, scale: u32) -> i128 {
    let m = d.mantissa();
    let s = d.scale();
    if scale >= s {
        10i128
            .checked_pow(scale - s)
            .and_then(|p| m.checked_mul(p))
            .unwrap_or(if m < 0 { i128::MIN } else { i128::MAX })
    } else {
        let p = 10i128.pow(s - scale);
        m / p + (m % p) * 2 / p
    }
}

/// Builds a [`Summary`] from the rows of a run as they are made, in constant memory. The
/// first equity row must come before the first fill (a run values its account before it
/// trades).
#[derive(Debug, Clone)]
pub struct Summarizer {
    es: u32,
    base_unit: String,
    quote_unit: String,
    /// Time and equity of the first row; of the last, with its base and mid.
    first: Option<(i64, i128)>,
    last: Option<(i64, i128, Funds, Price)>,
    /// The last row's base and its decimal: most rows hold what the one before held.
    base: Option<(Funds, Decimal)>,
    fees: BTreeMap<String, i128>,
    vb: Decimal,
    vq: Decimal,
    fills: u64,
    maker: u64,
    /// Inventory and its average cost, from the first row valued at its mid.
    pos: Decimal,
    cost: Decimal,
    peak: i128,
    dd: i128,
    dd_pct: f64,
    prev: Option<i128>,
    /// Returns: count, sum, Welford's running mean and sum of squared deviations, and the sum
    /// of squared losses.
    n: u64,
    sum: f64,
    mean: f64,
    m2: f64,
    down2: f64,
    inv: Option<(Decimal, Decimal)>,
}

impl Summarizer {
    /// `equity_scale`: decimals of the equity column.
    pub fn new(equity_scale: u32, base_unit: &str, quote_unit: &str) -> Self {
        Summarizer {
            es: equity_scale,
            base_unit: base_unit.into(),
            quote_unit: quote_unit.into(),
            first: None,
            last: None,
            base: None,
            fees: BTreeMap::new(),
            vb: Decimal::ZERO,
            vq: Decimal::ZERO,
            fills: 0,
            maker: 0,
            pos: Decimal::ZERO,
            cost: Decimal::ZERO,
            peak: i128::MIN,
            dd: 0,
            dd_pct: 0.0,
            prev: None,
            n: 0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            down2: 0.0,
            inv: None,
        }
    }

    pub fn fill(&mut self, f: &FillRecord) {
        let fee = f.fee.units_at(BALANCE_SCALE).unwrap_or(0);
        match self.fees.get_mut(&*f.fee_currency) {
            Some(v) => *v += fee,
            None => {
                self.fees.insert(f.fee_currency.to_string(), fee);
            }
        }
        let (amount, total) = (f.amount.text_decimal(), f.total.text_decimal());
        self.vb = self.vb.saturating_add(amount);
        self.vq = self.vq.saturating_add(total);
        self.fills += 1;
        self.maker += u64::from(f.maker);
        let fee = f.fee.text_decimal();
        let (pos, cost) = (self.pos, self.cost);
        (self.pos, self.cost) = if f.side == Side::Buy {
            let got = if *f.fee_currency == *self.base_unit {
                amount.saturating_sub(fee)
            } else {
                amount
            };
            let paid = if *f.fee_currency == *self.quote_unit {
                total.saturating_add(fee)
            } else {
                total
            };
            (pos.saturating_add(got), cost.saturating_add(paid))
        } else if pos > Decimal::ZERO {
            let avg = cost.checked_div(pos).unwrap_or_default();
            let pos = pos.saturating_sub(amount);
            (pos, avg.saturating_mul(pos.max(Decimal::ZERO)))
        } else {
            (pos.saturating_sub(amount), cost)
        };
    }

    pub fn equity(&mut self, r: &EquityRecord) {
        let e = r.equity.units_at(self.es).unwrap_or(0);
        let base = match self.base {
            Some((f, d)) if f == r.base => d,
            _ => {
                let d = r.base.text_decimal();
                self.base = Some((r.base, d));
                d
            }
        };
        if self.first.is_none() {
            self.first = Some((r.time_ns, e));
            self.pos = base;
            self.cost = base.saturating_mul(r.mid.text_decimal());
        }
        self.last = Some((r.time_ns, e, r.base, r.mid));
        self.peak = self.peak.max(e);
        if self.peak - e > self.dd {
            self.dd = self.peak - e;
            self.dd_pct = if self.peak > 0 {
                (self.peak - e) as f64 / self.peak as f64 * 100.0
            } else {
                0.0
            };
        }
        if let Some(p) = self.prev.filter(|p| *p > 0) {
            let r = (e - p) as f64 / p as f64;
            self.n += 1;
            self.sum += r;
            let delta = r - self.mean;
            self.mean += delta / self.n as f64;
            self.m2 += delta * (r - self.mean);
            self.down2 += r.min(0.0).powi(2);
        }
        self.prev = Some(e);
        self.inv = Some(match self.inv {
            None => (base, base),
            Some((lo, hi)) => (lo.min(base), hi.max(base)),
        });
    }

    /// The summary of everything seen, with what only the run knows from `info`.
    pub fn finish(&self, info: &RunInfo) -> Summary {
        let es = self.es;
        let e0 = self.first.as_ref().map_or(0, |f| f.1);
        let (e1, base1, mid1) = self
            .last
            .as_ref()
            .map_or((0, Decimal::ZERO, Decimal::ZERO), |l| {
                (l.1, l.2.text_decimal(), l.3.text_decimal())
            });
        let (pos, cost) = (self.pos, self.cost);
        let unreal = if base1 > Decimal::ZERO && pos > Decimal::ZERO {
            base1.saturating_mul(mid1.saturating_sub(cost.checked_div(pos).unwrap_or_default()))
        } else {
            Decimal::ZERO
        };
        let per_year = (365.0 * 86_400e9 / info.equity_interval_ns.max(1) as f64).sqrt();
        let n = self.n.max(1) as f64;
        let mean = self.sum / n;
        let sd = (self.m2 / n).sqrt();
        let down = (self.down2 / n).sqrt();
        let stat = |d: f64, scale: f64| {
            if d > 0.0 {
                format!("{:.4}", mean / d * scale)
            } else {
                "0".into()
            }
        };
        // Annualizing the returns of a shorter run would claim a year from minutes.
        let span = match (self.first, &self.last) {
            (Some(f), Some(l)) => l.0 - f.0,
            _ => 0,
        };
        let annual = span >= DAY_NS;
        let placed = dec(&info.volume_placed);
        let initial = fixed::to_decimal(e0, es);
        let unreal = to_scaled(unreal, es);
        let q = |d: Decimal| d.normalize().to_string();
        let (inv_min, inv_max) = self.inv.unwrap_or_default();
        Summary {
            scenario: info.scenario.clone(),
            strategy: info.strategy.clone(),
            market: info.market.clone(),
            start_utc: self.first.map_or(String::new(), |f| crate::utc::utc(f.0)),
            end_utc: self
                .last
                .as_ref()
                .map_or(String::new(), |l| crate::utc::utc(l.0)),
            events: info.events,
            initial_equity: fixed::format(e0, es),
            final_equity: fixed::format(e1, es),
            pnl_total: fixed::format(e1 - e0, es),
            pnl_realized: fixed::format((e1 - e0).saturating_sub(unreal), es),
            pnl_unrealized: fixed::format(unreal, es),
            fees: self
                .fees
                .iter()
                .map(|(c, f)| (c.clone(), fixed::format(*f, BALANCE_SCALE)))
                .collect(),
            volume_base: q(self.vb),
            volume_quote: q(self.vq),
            orders_placed: info.orders_placed,
            fills: self.fills,
            maker_fills: self.maker,
            taker_fills: self.fills - self.maker,
            fill_ratio: ratio(self.vb, placed),
            turnover: ratio(self.vq, initial),
            max_drawdown: fixed::format(self.dd, es),
            max_drawdown_pct: format!("{:.4}", self.dd_pct),
            sharpe: annual.then(|| stat(sd, per_year)),
            sortino: annual.then(|| stat(down, per_year)),
            sharpe_per_interval: stat(sd, 1.0),
            sortino_per_interval: stat(down, 1.0),
            inventory_min: q(inv_min),
            inventory_max: q(inv_max),
            attribution: None,
            markouts: Vec::new(),
            quoting: None,
            data_warnings: info.data_warnings.clone(),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quote = self.market.clone();
        let rows = [
            ("scenario", self.scenario.clone()),
            ("strategy", format!("{} on {quote}", self.strategy)),
            ("period", format!("{} → {}", self.start_utc, self.end_utc)),
            ("events", crate::console::thousands(self.events)),
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
            ("sharpe", self.ratios_line()),
            (
                "inventory",
                format!("{} … {}", self.inventory_min, self.inventory_max),
            ),
        ];
        for (k, v) in rows {
            writeln!(f, "{k:<10} {v}")?;
            if k == "PnL" {
                if let Some(line) = self.attribution_line() {
                    writeln!(f, "{:<10} {line}", "sources")?;
                }
                if let Some(line) = self.markouts_line() {
                    writeln!(f, "{:<10} {line}", "markouts")?;
                }
            }
        }
        Ok(())
    }
}

/// A quote amount rounded to cents for a summary line, with its sign when `signed`.
fn cents(s: &str, signed: bool) -> String {
    let d = dec(s).round_dp(2);
    let t = format!("{d:.2}");
    if signed && !d.is_sign_negative() {
        format!("+{t}")
    } else {
        t
    }
}

impl Summary {
    /// `PnL -415.72 = hold -X + spread +Y − fees Z + inventory W`
    fn attribution_line(&self) -> Option<String> {
        let a = &self.attribution.as_ref()?.total;
        Some(format!(
            "PnL {} = hold {} + spread {} − fees {} + inventory {} (vs hold {})",
            cents(&self.pnl_total, false),
            cents(&a.hold_pnl, true),
            cents(&a.spread_pnl, true),
            cents(&a.fees_quote, false),
            cents(&a.inventory_pnl, true),
            cents(&a.vs_hold, true),
        ))
    }

    /// Volume-weighted markouts of all fills at 1 s, 10 s and 60 s (those of them asked for).
    fn markouts_line(&self) -> Option<String> {
        let parts: Vec<String> = ["1", "10", "60"]
            .iter()
            .filter_map(|h| self.markouts.iter().find(|m| m.horizon_secs == *h))
            .map(|m| match m.all_bps.as_str() {
                "" => format!("{} s -", m.horizon_secs),
                b => format!("{} s {} bps", m.horizon_secs, cents(b, true)),
            })
            .collect();
        (!parts.is_empty()).then(|| format!("{} (all fills, volume-weighted)", parts.join(", ")))
    }

    fn ratios_line(&self) -> String {
        match (&self.sharpe, &self.sortino) {
            (Some(sh), Some(so)) => format!(
                "{sh} (sortino {so}), annualized; per equity interval {} (sortino {})",
                self.sharpe_per_interval, self.sortino_per_interval
            ),
            _ => format!(
                "{} per equity interval (sortino {}); not annualized: the run spans less than a day",
                self.sharpe_per_interval, self.sortino_per_interval
            ),
        }
    }
}
