//! Markouts: how the mid moved after each fill, at each horizon.
//!
//! For a fill at `t` of `side` (+1 buy, −1 sell) at `price`, at horizon `h`:
//! `bps = side × (mid(t + h) − price) / price × 10⁴` and its quote value
//! `side × (mid(t + h) − price) × amount`. A horizon past the run's end is empty.
//!
//! One pass: pending fills wait in a queue, oldest first, and each horizon keeps a cursor to
//! the first fill it has not yet seen the mid for. Fill times never decrease, so a horizon's
//! targets (`t + h`) never decrease down the queue: an instant resolves, per horizon, the
//! fills whose target it has passed, and nothing else is read. A fill leaves the queue, as a
//! row of `markouts.csv`, once its longest horizon is known.

use super::analytics::Mid;
use super::records::FillRecord;
use crate::value::{Amount, Funds, Price};
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// `summary.json`'s markouts at one horizon: volume-weighted mean bps of buys, sells and all
/// fills (empty when none is covered), and how many fills each mean covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MarkoutStat {
    pub horizon_secs: String,
    pub buy_bps: String,
    pub sell_bps: String,
    pub all_bps: String,
    pub fills_covered: u64,
    pub buy_fills: u64,
    pub sell_fills: u64,
    /// Σ of the fills' quote values at this horizon (exact).
    pub value_quote: String,
}

/// One fill's markouts, a row of `markouts.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkoutRecord {
    pub time_ns: i64,
    pub trade_id: u64,
    pub order_id: u64,
    pub side: Side,
    pub price: Price,
    pub amount: Amount,
    /// Per horizon: the mid, the bps and the quote value; `None` past the run's end.
    pub at: Vec<Option<(Price, Decimal, Funds)>>,
}

/// A pending fill.
#[derive(Debug, Clone)]
struct Pending {
    time_ns: i64,
    trade_id: u64,
    order_id: u64,
    sign: i128,
    price: i128,
    amount: i128,
    /// The fill's price and amount as its record gives them.
    shown: (Price, Amount),
    /// The mid at each horizon once known (price precision + 1 decimals).
    mids: Vec<Option<i128>>,
}

/// Volume-weighted sums of one horizon and side.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    weighted: Decimal,
    volume: Decimal,
    fills: u64,
}

impl Acc {
    fn add(&mut self, bps: Decimal, amount: Decimal) {
        self.weighted = self
            .weighted
            .checked_add(bps.checked_mul(amount).unwrap_or_default())
            .unwrap_or(self.weighted);
        self.volume = self.volume.checked_add(amount).unwrap_or(self.volume);
        self.fills += 1;
    }

    fn mean(&self) -> String {
        if self.fills == 0 || self.volume.is_zero() {
            return String::new();
        }
        self.weighted
            .checked_div(self.volume)
            .map(|m| m.round_dp(4).normalize().to_string())
            .unwrap_or_default()
    }
}

/// The markouts of a run.
#[derive(Debug)]
pub struct Markouts {
    /// Horizons in ns, ascending, and as written in names (`1`, `0.5`).
    horizons: Vec<i64>,
    labels: Vec<String>,
    price_precision: u32,
    amount_precision: u32,
    pending: VecDeque<Pending>,
    /// Per horizon: how many fills at the queue's front have their mid.
    cursor: Vec<usize>,
    /// Per horizon: buys, sells; and the quote value of all.
    acc: Vec<(Acc, Acc, i128)>,
    /// Rows complete and not yet taken, oldest first.
    done: VecDeque<MarkoutRecord>,
    /// Whether rows are made: a run without tables keeps only the statistics.
    rows: bool,
    /// No fill is pending past this time: the run has ended.
    ended: bool,
    /// The earliest horizon target not yet resolved (`i64::MAX` for none): an instant at or
    /// before it has nothing to resolve.
    next_due: i64,
}

/// A horizon as written in a column name: `1`, `0.5`.
pub fn label(secs: f64) -> String {
    let s = format!("{secs}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

impl Markouts {
    pub fn new(horizons_ns: Vec<i64>, price_precision: u32, amount_precision: u32) -> Self {
        let labels = horizons_ns
            .iter()
            .map(|&ns| label(ns as f64 / 1e9))
            .collect();
        let n = horizons_ns.len();
        Markouts {
            horizons: horizons_ns,
            labels,
            price_precision,
            amount_precision,
            pending: VecDeque::new(),
            cursor: vec![0; n],
            acc: vec![Default::default(); n],
            done: VecDeque::new(),
            rows: true,
            ended: false,
            next_due: i64::MAX,
        }
    }

    /// The column names of `markouts.csv`.
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "trade_id", "order_id", "time_ns", "time_utc", "side", "price", "amount",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for l in &self.labels {
            c.push(format!("mid_{l}s"));
            c.push(format!("bps_{l}s"));
            c.push(format!("pnl_{l}s"));
        }
        c
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// A fill at `price` (price precision) of `amount` (amount precision); `mid` as it stands
    /// at the fill's instant.
    pub(super) fn fill(
        &mut self,
        f: &FillRecord,
        sign: i128,
        price: i128,
        amount: i128,
        mid: &Mid,
    ) {
        if self.horizons.is_empty() {
            return;
        }
        self.pending.push_back(Pending {
            time_ns: f.time_ns,
            trade_id: f.trade_id,
            order_id: f.order_id,
            sign,
            price,
            amount,
            shown: (f.price, f.amount),
            mids: vec![None; self.horizons.len()],
        });
        // Horizons that ended before the fill's instant saw the mid after the one before.
        if let Some(before) = mid.before {
            self.resolve(mid.at, before, false);
        }
        self.take_complete();
        self.next_due = self.earliest();
    }

    /// The earliest target of a horizon not yet resolved.
    fn earliest(&self) -> i64 {
        self.horizons
            .iter()
            .zip(&self.cursor)
            .filter_map(|(&ns, &c)| self.pending.get(c).map(|p| p.time_ns.saturating_add(ns)))
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Makes no rows from now on, only the statistics.
    pub fn without_rows(&mut self) {
        self.rows = false;
    }

    /// Rows complete and not yet taken.
    #[inline]
    pub fn has_rows(&self) -> bool {
        !self.done.is_empty()
    }

    /// An instant at `now`: horizons that ended before it saw `mid` (the mid after the
    /// previous instant).
    #[inline]
    pub fn resolve_before(&mut self, now: i64, mid: i128) {
        if self.next_due >= now {
            return;
        }
        self.resolve(now, mid, false);
        self.take_complete();
        self.next_due = self.earliest();
    }

    /// Gives `mid` to every horizon target before `until` (at or before, with `inclusive`).
    fn resolve(&mut self, until: i64, mid: i128, inclusive: bool) {
        for (h, &ns) in self.horizons.iter().enumerate() {
            while let Some(p) = self.pending.get_mut(self.cursor[h]) {
                let target = p.time_ns.saturating_add(ns);
                if target > until || (target == until && !inclusive) {
                    break;
                }
                p.mids[h] = Some(mid);
                self.cursor[h] += 1;
            }
        }
    }

    /// Moves the fills whose every horizon is known (or past the end) to `done`.
    fn take_complete(&mut self) {
        let last = self.horizons.len() - 1;
        while self.cursor[last] > 0 || (self.ended && !self.pending.is_empty()) {
            let p = self.pending.pop_front().expect("a front fill");
            for c in &mut self.cursor {
                *c = c.saturating_sub(1);
            }
            if let Some(row) = self.record(p) {
                self.done.push_back(row);
            }
        }
    }

    /// Adds a complete fill to the statistics; its row, when rows are made.
    fn record(&mut self, p: Pending) -> Option<MarkoutRecord> {
        let (pp, ap) = (self.price_precision, self.amount_precision);
        let amount = crate::fixed::to_decimal(p.amount, ap);
        if !self.rows {
            for (h, m) in p.mids.iter().enumerate() {
                if let Some(m) = *m {
                    self.add(h, &p, m, amount);
                }
            }
            return None;
        }
        let at = p
            .mids
            .iter()
            .enumerate()
            .map(|(h, m)| {
                let m = (*m)?;
                let (bps, value) = self.add(h, &p, m, amount)?;
                Some((
                    Price::new(m, pp + 1),
                    bps.round_dp(4).normalize(),
                    Funds::new(value, pp + 1 + ap),
                ))
            })
            .collect();
        Some(MarkoutRecord {
            time_ns: p.time_ns,
            trade_id: p.trade_id,
            order_id: p.order_id,
            side: if p.sign > 0 { Side::Buy } else { Side::Sell },
            price: p.shown.0,
            amount: p.shown.1,
            at,
        })
    }

    /// Adds fill `p`'s markout at horizon `h`, to the mid `m`, to the statistics; its edge in
    /// basis points and its quote value (`None` past `i128`).
    fn add(&mut self, h: usize, p: &Pending, m: i128, amount: Decimal) -> Option<(Decimal, i128)> {
        // The mid has one more decimal than the price.
        let edge = p.sign * (m - p.price * 10);
        let bps = Decimal::from_i128_with_scale(edge.checked_mul(1000)?, 0)
            .checked_div(Decimal::from_i128_with_scale(p.price, 0))?;
        let value = edge.checked_mul(p.amount)?;
        let (buy, sell, total) = &mut self.acc[h];
        if p.sign > 0 { buy } else { sell }.add(bps, amount);
        *total = total.saturating_add(value);
        Some((bps, value))
    }

    /// The run ended at `t1` with `mid`: horizons up to `t1` see it, later ones are empty.
    pub fn finish(&mut self, t1: i64, mid: i128) {
        if self.horizons.is_empty() {
            return;
        }
        self.resolve(t1, mid, true);
        self.ended = true;
        self.take_complete();
        self.next_due = i64::MAX;
    }

    /// The next complete row, oldest first.
    pub fn next_row(&mut self) -> Option<MarkoutRecord> {
        self.done.pop_front()
    }

    /// Fills waiting for a horizon.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The summary per horizon, of every row taken so far.
    pub fn stats(&self) -> Vec<MarkoutStat> {
        let scale = self.price_precision + 1 + self.amount_precision;
        self.labels
            .iter()
            .zip(&self.acc)
            .map(|(l, (buy, sell, value))| {
                let mut all = *buy;
                all.weighted = all
                    .weighted
                    .checked_add(sell.weighted)
                    .unwrap_or(all.weighted);
                all.volume = all.volume.checked_add(sell.volume).unwrap_or(all.volume);
                all.fills += sell.fills;
                MarkoutStat {
                    horizon_secs: l.clone(),
                    buy_bps: buy.mean(),
                    sell_bps: sell.mean(),
                    all_bps: all.mean(),
                    fills_covered: all.fills,
                    buy_fills: buy.fills,
                    sell_fills: sell.fills,
                    value_quote: crate::fixed::format(*value, scale),
                }
            })
            .collect()
    }
}
