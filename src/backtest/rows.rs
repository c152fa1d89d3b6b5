//! The rows a run writes: each order change, fill and equity valuation as a table row, and
//! the answers of the exchange delivered to the strategy.

use super::error::BacktestError;
use crate::report::records::{EquityRecord, FillRecord, OrderRecord};
use crate::report::ResultWriter;
use crate::sim::{Fill, Order, Sim, SimEvent, BALANCE_SCALE};
use crate::strategy::{Ctx, Strategy};
use crate::tape::MarketId;
use crate::utc::utc;
use crate::value::{Funds, Price};
use crate::venue::MarketRules;
use std::sync::Arc;

/// Turns what happens in a run into rows of its result tables.
pub(super) struct Recorder {
    pub rules: Vec<MarketRules>,
    /// The markets' names, shared by their rows.
    pub names: Vec<Arc<str>>,
    /// The fee currencies seen, shared by their rows.
    pub currencies: Vec<Arc<str>>,
    pub market: MarketId,
    pub out: ResultWriter,
    /// Orders accepted, and their base volume at amount precision (buys, sells), for the
    /// fill ratio.
    pub orders_placed: u64,
    pub volume_placed: [i128; 2],
    /// The first equity row's value: the run starts once there is one.
    pub first_equity: Option<i128>,
    /// Fills so far, and the PnL of the last equity row, for a live status line.
    pub fills: u64,
    pub last_pnl: Funds,
}

impl Recorder {
    fn order(&mut self, at: i64, o: &Order, reason: String) {
        let m = o.market.0 as usize;
        if o.state == crate::sim::OrderState::Wait && o.trades_count == 0 && o.remaining == o.origin
        {
            self.orders_placed += 1;
            let side = usize::from(o.side == crate::venue::Side::Sell);
            self.volume_placed[side] += i128::from(o.origin);
        }
        if !self.out.files() {
            return;
        }
        self.out.order(OrderRecord {
            time_ns: at,
            order_id: o.id,
            market: self.names[m].clone(),
            side: o.side.as_str(),
            ord_type: o.ord_type.as_str(),
            price: o.price(),
            state: o.state.as_str(),
            origin_volume: Some(o.origin_volume()),
            remaining_volume: Some(o.remaining_volume()),
            executed_volume: Some(o.executed_volume()),
            avg_price: Some(o.avg_price()),
            reason,
        });
    }

    fn currency(&mut self, c: &str) -> Arc<str> {
        match self.currencies.iter().find(|k| ***k == *c) {
            Some(k) => k.clone(),
            None => {
                let k: Arc<str> = c.into();
                self.currencies.push(k.clone());
                k
            }
        }
    }

    fn fill(&mut self, at: i64, f: &Fill) {
        let m = f.market.0 as usize;
        self.fills += 1;
        let fee_currency = self.currency(&f.fee_currency);
        self.out.fill(FillRecord {
            time_ns: at,
            trade_id: f.trade_id,
            order_id: f.order_id,
            market: self.names[m].clone(),
            side: f.side,
            price: f.price,
            amount: f.amount,
            total: f.total,
            maker: f.maker,
            fee_rate: f.fee_rate,
            fee: f.fee,
            fee_currency,
        });
    }

    /// A row of `equity.csv` at `t`, valued at the market's mid; an error when the equity does
    /// not fit 128 bits at its scale.
    pub fn equity(&mut self, t: i64, sim: &Sim) -> Result<(), BacktestError> {
        let ex = sim.exchange();
        let Some(book) = ex.books().get(self.market) else {
            return Ok(());
        };
        let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else {
            return Ok(());
        };
        let r = &self.rules[self.market.0 as usize];
        let pp = r.price_precision;
        let base = ex.accounts().total_units(&r.base_unit);
        let quote = ex.accounts().total_units(&r.quote_unit);
        // mid at pp + 1 decimals; equity at 16 + pp + 1.
        let mid = (i128::from(bid.price) + i128::from(ask.price)) * 5;
        let es = BALANCE_SCALE + pp + 1;
        let equity = 10i128
            .checked_pow(pp + 1)
            .and_then(|p| quote.checked_mul(p))
            .zip(base.checked_mul(mid))
            .and_then(|(q, b)| q.checked_add(b))
            .ok_or_else(|| BacktestError::EquityOverflow {
                market: r.id.clone(),
                at: utc(t),
                scale: es,
                price_precision: pp,
            })?;
        let first = *self.first_equity.get_or_insert(equity);
        self.last_pnl = Funds::new(equity - first, es);
        self.out.equity(EquityRecord {
            time_ns: t,
            best_bid: Price::new(bid.price, pp),
            best_ask: Price::new(ask.price, pp),
            mid: Price::new(mid, pp + 1),
            base: Funds::new(base, BALANCE_SCALE),
            quote: Funds::new(quote, BALANCE_SCALE),
            equity: Funds::new(equity, es),
            pnl: self.last_pnl,
        });
        Ok(())
    }
}

pub(super) fn deliver(
    answers: &mut Vec<(i64, SimEvent)>,
    rec: &mut Recorder,
    strategy: &mut dyn Strategy,
    sim: &mut Sim,
) {
    if answers.is_empty() {
        return;
    }
    for (at, ev) in answers.drain(..) {
        let mut ctx = Ctx::new(sim);
        match ev {
            SimEvent::Order(o) => {
                rec.order(at, &o, String::new());
                strategy.on_order(&mut ctx, &o);
            }
            SimEvent::Fill(f) => {
                rec.fill(at, &f);
                strategy.on_fill(&mut ctx, &f);
            }
            SimEvent::Rejected { order_id, reject } => {
                if rec.out.files() {
                    rec.out.order(OrderRecord {
                        time_ns: at,
                        order_id,
                        market: "".into(),
                        side: "",
                        ord_type: "",
                        price: None,
                        state: "reject",
                        origin_volume: None,
                        remaining_volume: None,
                        executed_volume: None,
                        avg_price: None,
                        reason: format!("{}: {}", reject.code, reject.reason),
                    });
                }
                strategy.on_reject(&mut ctx, order_id, &reject);
            }
            SimEvent::CancelFailed { order_id, reject } => {
                strategy.on_reject(&mut ctx, order_id, &reject)
            }
            // Already in the local balances the strategy reads.
            SimEvent::Balance { .. } => {}
        }
    }
}
