//! `twap`: buys or sells a total over a period in equal slices, with market orders or
//! marketable limit orders.

use super::{round_to, Ctx, Strategy};
use crate::sim::{NewOrder, OrdType};
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwapConfig {
    pub market: String,
    pub side: Side,
    /// Base amount in all.
    pub total_amount: Decimal,
    /// Seconds from the start of the run over which the slices are spread.
    pub duration_secs: f64,
    pub slices: u32,
    /// `market`, or `limit` for a marketable limit order at the best opposite price moved by
    /// `limit_slippage_pct`.
    #[serde(default = "market")]
    pub order_type: OrdType,
    #[serde(default)]
    pub limit_slippage_pct: Decimal,
}

fn market() -> OrdType {
    OrdType::Market
}

impl TwapConfig {
    pub fn check(&self) -> Result<(), (String, String)> {
        use crate::config::keyed as key;
        super::amount(self.total_amount).map_err(key("total_amount"))?;
        crate::bounds::count(u64::from(self.slices), 1, 1_000_000).map_err(key("slices"))?;
        crate::utc::secs_ns(self.duration_secs).map_err(key("duration_secs"))?;
        crate::bounds::from_to(
            self.limit_slippage_pct,
            Decimal::ZERO,
            Decimal::ONE_HUNDRED,
            " (percent)",
        )
        .map_err(key("limit_slippage_pct"))
    }
}

pub struct Twap {
    cfg: TwapConfig,
    start: i64,
    done: u32,
    sent: Decimal,
}

impl Twap {
    pub fn new(cfg: TwapConfig) -> Self {
        Twap {
            cfg,
            start: 0,
            done: 0,
            sent: Decimal::ZERO,
        }
    }
}

impl Strategy for Twap {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.start = ctx.now();
    }

    fn timer_ns(&self) -> Option<i64> {
        Some(100_000_000)
    }

    fn on_timer(&mut self, ctx: &mut Ctx) {
        let c = &self.cfg;
        if self.done >= c.slices {
            return;
        }
        let step = crate::utc::secs_ns(c.duration_secs).unwrap_or(0) / i64::from(c.slices);
        if ctx.now() < self.start + step * i64::from(self.done) {
            return;
        }
        let Some(m) = ctx.market_id(&c.market) else {
            return;
        };
        if !ctx.book_valid(m) {
            return;
        }
        let r = ctx.rules(m);
        let (pp, ap) = (r.price_precision, r.amount_precision);
        let last = self.done + 1 == c.slices;
        let amount = if last {
            c.total_amount - self.sent
        } else {
            round_to(c.total_amount / Decimal::from(c.slices), ap, false)
        };
        let Some(best) = ctx.best(m, c.side.opposite()) else {
            return;
        };
        self.done += 1;
        if amount <= Decimal::ZERO {
            return;
        }
        self.sent += amount;
        let order = match c.order_type {
            OrdType::Market => NewOrder::market(&c.market, c.side, amount),
            OrdType::Limit => {
                let best = best.price.to_decimal();
                let k = c.limit_slippage_pct / Decimal::ONE_HUNDRED;
                let price = match c.side {
                    Side::Buy => round_to(best * (Decimal::ONE + k), pp, true),
                    Side::Sell => round_to(best * (Decimal::ONE - k), pp, false),
                };
                NewOrder::limit(&c.market, c.side, amount, price)
            }
        };
        ctx.place(order);
    }
}
