//! Where a run's PnL came from, gathered in one pass as the run goes (docs/analytics.md):
//! attribution against holding the starting inventory, markouts of every fill, and how the
//! strategy quoted and carried inventory.
//!
//! Money is exact: every attribution term is an integer at the equity's scale (16 + price
//! precision + 1 decimals), so `pnl_total = hold + spread − fees + inventory` holds digit for
//! digit. Shares of time and basis points are ratios, rounded for reading.
//!
//! The clock is that of `fills.csv`. `mid(x)` is the mid of the book the exchange matched
//! against after every feed event received at or before `x` (the last two-sided one): the run
//! reports each instant's mid as it applies the instant, so the mid is a step function that
//! changes at instants, and a fill reported in an instant happened after the previous one.

use super::markouts::{MarkoutStat, Markouts};
use super::records::{EquityRecord, FillRecord};
use crate::fixed;
use crate::sim::BALANCE_SCALE;
use crate::value::Funds;
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The four terms of the PnL, and the PnL against holding, in quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Attribution {
    /// What holding the starting base would have made: `B0 × (mid(t1) − mid(t0))`.
    pub hold_pnl: String,
    /// Edge against the mid at each fill: `Σ side × (mid(t) − price) × amount`.
    pub spread_pnl: String,
    /// Fees in quote, base fees valued at the mid of their fill.
    pub fees_quote: String,
    /// The mark-to-market of the inventory taken on: `Σ (B − B0) × Δmid`.
    pub inventory_pnl: String,
    /// `pnl_total − hold_pnl`.
    pub vs_hold: String,
}

/// `summary.json`'s `attribution`: the total (the terms summed over markets) and each market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AttributionReport {
    #[serde(flatten)]
    pub total: Attribution,
    pub markets: BTreeMap<String, Attribution>,
}

/// `summary.json`'s `quoting`: how the strategy quoted and carried inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Quoting {
    /// Shares of the run's time with at least one of our orders resting on the bid, on the
    /// ask, and on both.
    pub bid_presence: String,
    pub ask_presence: String,
    pub both_presence: String,
    /// Time-weighted (our best ask − our best bid) / mid while both rest, in basis points;
    /// empty when they never rested together.
    pub quoted_spread_bps: String,
    /// Filled base over the base of the orders accepted, per side.
    pub fill_ratio_buy: String,
    pub fill_ratio_sell: String,
    /// Time-weighted mean of |B − B0| (base, rounded) and its maximum (exact).
    pub inventory_mean_abs: String,
    pub inventory_max_abs: String,
    /// Matched buy and sell volume: min(bought, sold), in base.
    pub round_trip_volume: String,
    /// `spread_pnl` per unit of round-trip volume (quote per base); empty without round trips.
    pub spread_pnl_per_round_trip: String,
}

/// What the analytics add to a summary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub attribution: AttributionReport,
    pub markouts: Vec<MarkoutStat>,
    pub quoting: Quoting,
    /// Fills on markets other than the strategy's: not attributed.
    pub other_fills: u64,
}

/// One point of the cumulative attribution, at an equity row: hold, spread, fees, inventory
/// and their sum, at the equity scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cumulative {
    pub time_ns: i64,
    pub hold: i128,
    pub spread: i128,
    pub fees: i128,
    pub inventory: i128,
}

impl Cumulative {
    pub fn total(&self) -> i128 {
        self.hold + self.spread - self.fees + self.inventory
    }
}

/// The market the run values its account in, and its scales.
#[derive(Debug, Clone)]
pub struct Market {
    pub name: String,
    pub base_unit: String,
    pub quote_unit: String,
    pub price_precision: u32,
    pub amount_precision: u32,
}

impl Market {
    /// Decimals of every attribution term: 16 + price precision + 1 (the equity's).
    pub fn scale(&self) -> u32 {
        BALANCE_SCALE + self.price_precision + 1
    }
}

/// The mid as a step function of time: its value after the latest instant and before it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Mid {
    /// Time of the latest instant.
    pub at: i64,
    /// After the latest instant (price precision + 1 decimals).
    pub now: Option<i128>,
    /// After the instant before it.
    pub before: Option<i128>,
}

impl Mid {
    /// `mid(t)` for a time after the instant before the latest.
    pub fn at_time(&self, t: i64) -> Option<i128> {
        if t >= self.at {
            self.now
        } else {
            self.before
        }
    }
}

/// Gathers the analytics of one run.
#[derive(Debug)]
pub struct Analytics {
    market: Market,
    mid: Mid,
    /// t0, mid(t0), B0 (16 decimals): from the first equity row.
    start: Option<(i64, i128, i128)>,
    /// The base balance on the fills' clock, and when and at which mid the inventory term
    /// was last brought up to date.
    base: i128,
    inv_at: i64,
    inv_mid: i128,
    spread: i128,
    fees: i128,
    inventory: i128,
    /// Overflow in a term: the attribution is left out rather than wrong.
    overflow: bool,
    bought: i128,
    sold: i128,
    /// Σ |B − B0| × dt (base × ns, rounded) and max |B − B0|.
    abs_inv_time: f64,
    abs_inv_max: i128,
    /// Our best quotes since `quotes_at` (and the mid while both rest), and the
    /// time-weighted sums since t0.
    quotes: (Option<i64>, Option<i64>),
    quotes_mid: Option<i128>,
    quotes_at: i64,
    bid_ns: i128,
    ask_ns: i128,
    both_ns: i128,
    spread_bps_ns: f64,
    other_fills: u64,
    markouts: Markouts,
}

/// `10^k` as an i128.
fn pow10(k: u32) -> i128 {
    10i128.pow(k)
}

impl Analytics {
    /// `horizons_ns`: the markout horizons, ascending.
    pub fn new(market: Market, horizons_ns: Vec<i64>) -> Self {
        let markouts = Markouts::new(horizons_ns, market.price_precision, market.amount_precision);
        Analytics {
            market,
            mid: Mid::default(),
            start: None,
            base: 0,
            inv_at: 0,
            inv_mid: 0,
            spread: 0,
            fees: 0,
            inventory: 0,
            overflow: false,
            bought: 0,
            sold: 0,
            abs_inv_time: 0.0,
            abs_inv_max: 0,
            quotes: (None, None),
            quotes_mid: None,
            quotes_at: 0,
            bid_ns: 0,
            ask_ns: 0,
            both_ns: 0,
            spread_bps_ns: 0.0,
            other_fills: 0,
            markouts,
        }
    }

    pub fn market(&self) -> &Market {
        &self.market
    }

    pub fn markouts(&self) -> &Markouts {
        &self.markouts
    }

    /// The markouts gathered so far, for the rows that are complete.
    pub fn markouts_mut(&mut self) -> &mut Markouts {
        &mut self.markouts
    }

    /// One instant has been applied at `now`: the book's mid after it (`None` when a side is
    /// empty: the last two-sided mid stands) and our best resting bid and ask.
    #[inline]
    pub fn instant(
        &mut self,
        now: i64,
        mid: Option<i128>,
        own_bid: Option<i64>,
        own_ask: Option<i64>,
    ) {
        // Horizons that ended before this instant saw the mid after the previous one, and so
        // did the quotes since then.
        if let Some(m) = self.mid.now {
            self.markouts.resolve_before(now, m);
        }
        if self.start.is_some() {
            // A stretch of time with the same quotes (and mid, while both rest) is added up
            // when it ends.
            let both = own_bid.is_some() && own_ask.is_some();
            let seg_mid = if both { mid.or(self.mid.now) } else { None };
            if (own_bid, own_ask, seg_mid) != (self.quotes.0, self.quotes.1, self.quotes_mid) {
                self.accrue_quotes(now);
                self.quotes = (own_bid, own_ask);
                self.quotes_mid = seg_mid;
            }
        }
        self.mid.before = self.mid.now;
        if mid.is_some() {
            self.mid.now = mid;
        }
        self.mid.at = now;
    }

    /// Adds the stretch since the quotes last changed to the quote presence sums.
    fn accrue_quotes(&mut self, now: i64) {
        let dt = i128::from(now.saturating_sub(self.quotes_at).max(0));
        self.quotes_at = now;
        if dt == 0 {
            return;
        }
        let (bid, ask) = self.quotes;
        if bid.is_some() {
            self.bid_ns += dt;
        }
        if ask.is_some() {
            self.ask_ns += dt;
        }
        if let (Some(b), Some(a), Some(m)) = (bid, ask, self.quotes_mid) {
            self.both_ns += dt;
            // (ask − bid) / mid in bps; mid has one more decimal than the prices.
            let bps = (a - b) as f64 * 10.0 / m as f64 * 1e4;
            self.spread_bps_ns += bps * dt as f64;
        }
    }

    /// An equity row: the first one starts the attribution (t0, mid(t0), B0). Returns the
    /// cumulative attribution at the row, valued at its mid.
    pub fn equity(&mut self, r: &EquityRecord) -> Option<Cumulative> {
        let mid = r.mid.units_at(self.market.price_precision + 1)?;
        let base = r.base.units_at(BALANCE_SCALE)?;
        if self.start.is_none() {
            self.start = Some((r.time_ns, mid, base));
            self.base = base;
            self.inv_at = r.time_ns;
            self.inv_mid = mid;
            self.quotes_at = r.time_ns;
        }
        let (_, m0, b0) = self.start?;
        let hold = b0.checked_mul(mid - m0)?;
        let inventory = (self.base - b0)
            .checked_mul(mid - self.inv_mid)?
            .checked_add(self.inventory)?;
        Some(Cumulative {
            time_ns: r.time_ns,
            hold,
            spread: self.spread,
            fees: self.fees,
            inventory,
        })
    }

    /// A fill, at its time on the fills' clock.
    pub fn fill(&mut self, f: &FillRecord) {
        if *f.market != *self.market.name {
            self.other_fills += 1;
            return;
        }
        let Some((_, _, b0)) = self.start else {
            return;
        };
        let (pp, ap) = (self.market.price_precision, self.market.amount_precision);
        let (Some(m), Some(p), Some(a), Some(fee)) = (
            self.mid.at_time(f.time_ns),
            f.price.units_at(pp),
            f.amount.units_at(ap),
            f.fee.units_at(BALANCE_SCALE),
        ) else {
            self.overflow = true;
            return;
        };
        let sign: i128 = if f.side == Side::Buy { 1 } else { -1 };
        let fee_base = *f.fee_currency == *self.market.base_unit;
        let step = (|| {
            // side × (mid − price) × amount: (pp + 1) + ap decimals, to 16 + pp + 1.
            let edge = (m - p * 10)
                .checked_mul(a)?
                .checked_mul(pow10(BALANCE_SCALE - ap))?
                * sign;
            let fee_q = if fee_base {
                fee.checked_mul(m)?
            } else {
                fee.checked_mul(pow10(pp + 1))?
            };
            let moved = (self.base - b0).checked_mul(m - self.inv_mid)?;
            let got =
                a.checked_mul(pow10(BALANCE_SCALE - ap))? * sign - if fee_base { fee } else { 0 };
            Some((edge, fee_q, moved, got))
        })();
        let Some((edge, fee_q, moved, got)) = step else {
            self.overflow = true;
            return;
        };
        self.spread = self.spread.saturating_add(edge);
        self.fees = self.fees.saturating_add(fee_q);
        self.inventory = self.inventory.saturating_add(moved);
        let dt = f.time_ns.saturating_sub(self.inv_at).max(0);
        self.abs_inv_time += (self.base - b0).unsigned_abs() as f64 * dt as f64;
        self.inv_at = f.time_ns.max(self.inv_at);
        self.inv_mid = m;
        self.base = self.base.saturating_add(got);
        self.abs_inv_max = self.abs_inv_max.max((self.base - b0).abs());
        if sign > 0 {
            self.bought += a;
        } else {
            self.sold += a;
        }
        self.markouts.fill(f, sign, p, a, &self.mid);
    }

    /// Current values of the spread, fee and inventory terms (at the latest mid), for a
    /// status line.
    pub fn so_far(&self) -> Option<(Funds, Funds, Funds)> {
        let (_, _, b0) = self.start?;
        let m = self.mid.now?;
        let inv = self.inventory + (self.base - b0).checked_mul(m - self.inv_mid)?;
        let s = self.market.scale();
        Some((
            Funds::new(self.spread, s),
            Funds::new(self.fees, s),
            Funds::new(inv, s),
        ))
    }

    /// The analytics at the run's end, `t1` with the last equity row's mid; `pnl_total` the
    /// equity's change at the equity scale.
    pub fn finish(
        &mut self,
        t1: i64,
        mid1: Option<i128>,
        pnl_total: i128,
        volume_placed: (i128, i128),
    ) -> Report {
        let s = self.market.scale();
        let f = |v: i128| fixed::format(v, s);
        let mut report = Report {
            other_fills: self.other_fills,
            ..Report::default()
        };
        self.accrue_quotes(t1);
        let Some((t0, m0, b0)) = self.start else {
            return report;
        };
        let m1 = mid1.or(self.mid.now).unwrap_or(m0);
        self.markouts.finish(t1, m1);
        report.markouts = self.markouts.stats();
        let hold = b0.checked_mul(m1 - m0);
        let inv = (self.base - b0)
            .checked_mul(m1 - self.inv_mid)
            .and_then(|x| x.checked_add(self.inventory));
        if let (Some(hold), Some(inv), false) = (hold, inv, self.overflow) {
            let a = Attribution {
                hold_pnl: f(hold),
                spread_pnl: f(self.spread),
                fees_quote: f(self.fees),
                inventory_pnl: f(inv),
                vs_hold: f(pnl_total - hold),
            };
            report
                .attribution
                .markets
                .insert(self.market.name.clone(), a.clone());
            report.attribution.total = a;
        }
        let span = i128::from((t1 - t0).max(0));
        let share = |ns: i128| {
            if span == 0 {
                "0".to_string()
            } else {
                ratio(
                    Decimal::from_i128_with_scale(ns, 0),
                    Decimal::from_i128_with_scale(span, 0),
                )
            }
        };
        let (pp, ap) = (self.market.price_precision, self.market.amount_precision);
        let amount = |v: i128| fixed::to_decimal(v, ap);
        let round_trip = self.bought.min(self.sold);
        report.quoting = Quoting {
            bid_presence: share(self.bid_ns),
            ask_presence: share(self.ask_ns),
            both_presence: share(self.both_ns),
            quoted_spread_bps: if self.both_ns > 0 {
                format!("{:.4}", self.spread_bps_ns / self.both_ns as f64)
            } else {
                String::new()
            },
            fill_ratio_buy: ratio(amount(self.bought), amount(volume_placed.0)),
            fill_ratio_sell: ratio(amount(self.sold), amount(volume_placed.1)),
            inventory_mean_abs: if span > 0 {
                let mean = (self.abs_inv_time
                    + (self.base - b0).unsigned_abs() as f64 * (t1 - self.inv_at).max(0) as f64)
                    / span as f64
                    / 10f64.powi(BALANCE_SCALE as i32);
                format!("{:.prec$}", mean, prec = ap as usize)
            } else {
                "0".into()
            },
            inventory_max_abs: fixed::to_decimal(self.abs_inv_max, BALANCE_SCALE)
                .normalize()
                .to_string(),
            round_trip_volume: amount(round_trip).normalize().to_string(),
            spread_pnl_per_round_trip: if round_trip > 0 && !self.overflow {
                fixed::to_decimal(self.spread, s)
                    .checked_div(amount(round_trip))
                    .map(|d| d.round_dp(pp + 4).normalize().to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            },
        };
        report
    }
}

/// `num / den` rounded to 6 decimals; "0" when `den` is 0.
fn ratio(num: Decimal, den: Decimal) -> String {
    match num.checked_div(den) {
        Some(r) if !den.is_zero() => r.round_dp(6).normalize().to_string(),
        _ => "0".into(),
    }
}
