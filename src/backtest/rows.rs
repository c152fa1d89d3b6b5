//! The rows a run writes: each order change, fill and equity valuation as a table row, and
//! the answers of the exchange delivered to the strategy.

use crate::fixed;
use crate::report::{EquityRow, FillRow, OrderRow, ResultWriter};
use crate::sim::{Fill, Order, Sim, SimEvent, BALANCE_SCALE};
use crate::strategy::{Ctx, Strategy};
use crate::tape::MarketId;
use crate::utc::utc;
use crate::venue::MarketRules;

/// Turns what happens in a run into rows of its result tables.
pub(super) struct Recorder {
    pub rules: Vec<MarketRules>,
    pub market: MarketId,
    pub out: ResultWriter,
    /// Orders accepted, and their base volume at amount precision, for the fill ratio.
    pub orders_placed: u64,
    pub volume_placed: i128,
    /// The first equity row's value: the run starts once there is one.
    pub first_equity: Option<i128>,
    /// Fills so far, and the PnL of the last equity row, for a live status line.
    pub fills: u64,
    pub last_pnl: String,
}

impl Recorder {
    fn order(&mut self, at: i64, o: &Order, reason: String) {
        let r = &self.rules[o.market.0 as usize];
        let w = o.to_wire(r);
        if o.state == crate::sim::OrderState::Wait && o.trades_count == 0 && o.remaining == o.origin
        {
            self.orders_placed += 1;
            self.volume_placed += i128::from(o.origin);
        }
        self.out.order(OrderRow {
            time_ns: at,
            time_utc: utc(at),
            order_id: o.id,
            market: r.id.clone(),
            side: o.side.as_str().into(),
            ord_type: o.ord_type.as_str().into(),
            price: w.price.unwrap_or_default(),
            state: w.state,
            origin_volume: w.origin_volume,
            remaining_volume: w.remaining_volume,
            executed_volume: w.executed_volume,
            avg_price: w.avg_price,
            reason,
        });
    }

    fn fill(&mut self, at: i64, f: &Fill) {
        let r = &self.rules[f.market.0 as usize];
        let w = f.to_wire(r);
        self.fills += 1;
        self.out.fill(FillRow {
            time_ns: at,
            time_utc: utc(at),
            trade_id: f.trade_id,
            order_id: f.order_id,
            market: r.id.clone(),
            side: f.side.as_str().into(),
            price: w.price,
            amount: w.amount,
            total: w.total,
            liquidity: if f.maker { "maker" } else { "taker" }.into(),
            fee_rate: w.fee.unwrap_or_default(),
            fee: w.fee_amount.unwrap_or_default(),
            fee_currency: f.fee_currency.clone(),
        });
    }

    /// A row of `equity.csv` at `t`, valued at the market's mid; an error when the equity does
    /// not fit 128 bits at its scale.
    pub fn equity(&mut self, t: i64, sim: &Sim) -> Result<(), String> {
        let ex = sim.exchange();
        let Some(book) = ex.books().get(self.market) else {
            return Ok(());
        };
        let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else {
            return Ok(());
        };
        let r = &self.rules[self.market.0 as usize];
        let pp = r.price_precision;
        let base = ex.accounts().balance(&r.base_unit).total();
        let quote = ex.accounts().balance(&r.quote_unit).total();
        // mid at pp + 1 decimals; equity at 16 + pp + 1.
        let mid = (i128::from(bid.price) + i128::from(ask.price)) * 5;
        let es = BALANCE_SCALE + pp + 1;
        let equity = 10i128
            .checked_pow(pp + 1)
            .and_then(|p| quote.checked_mul(p))
            .zip(base.checked_mul(mid))
            .and_then(|(q, b)| q.checked_add(b))
            .ok_or_else(|| {
                format!(
                    "{}: the equity at {} does not fit 128 bits at {es} decimals (balances \
                     too large for the price precision {pp})",
                    r.id,
                    utc(t)
                )
            })?;
        let first = *self.first_equity.get_or_insert(equity);
        self.last_pnl = fixed::format(equity - first, es);
        self.out.equity(EquityRow {
            time_ns: t,
            time_utc: utc(t),
            best_bid: fixed::format(bid.price.into(), pp),
            best_ask: fixed::format(ask.price.into(), pp),
            mid: fixed::format(mid, pp + 1),
            base: fixed::format(base, BALANCE_SCALE),
            quote: fixed::format(quote, BALANCE_SCALE),
            equity: fixed::format(equity, es),
            pnl: self.last_pnl.clone(),
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
                rec.out.order(OrderRow {
                    time_ns: at,
                    time_utc: utc(at),
                    order_id,
                    market: String::new(),
                    side: String::new(),
                    ord_type: String::new(),
                    price: String::new(),
                    state: "reject".into(),
                    origin_volume: String::new(),
                    remaining_volume: String::new(),
                    executed_volume: String::new(),
                    avg_price: String::new(),
                    reason: format!("{}: {}", reject.code, reject.reason),
                });
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
