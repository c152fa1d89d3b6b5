//! `pure_market_making`: Hummingbot's strategy of the same name, with its parameter names and
//! meanings (spreads and percentages in percent, times in seconds).

use super::{round_to, Ctx, Strategy};
use crate::sim::{Fill, NewOrder, Order, OrderId, Reject};
use crate::tape::MarketId;
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PureMarketMakingConfig {
    pub market: String,
    /// Distance of the first bid below the mid price, percent.
    pub bid_spread: Decimal,
    /// Distance of the first ask above the mid price, percent.
    pub ask_spread: Decimal,
    /// Base amount of each first-level order.
    pub order_amount: Decimal,
    #[serde(default = "one")]
    pub order_levels: u32,
    /// Extra distance per further level, percent.
    #[serde(default = "one_dec")]
    pub order_level_spread: Decimal,
    /// Extra base amount per further level.
    #[serde(default)]
    pub order_level_amount: Decimal,
    /// Seconds between refreshes of the orders.
    #[serde(default = "thirty")]
    pub order_refresh_time: f64,
    /// Keep orders whose price is within this percent of the new proposal.
    #[serde(default)]
    pub order_refresh_tolerance_pct: Decimal,
    /// Seconds to wait after a fill before placing new orders.
    #[serde(default = "sixty")]
    pub filled_order_delay: f64,
    #[serde(default)]
    pub inventory_skew_enabled: bool,
    /// Target share of the portfolio value held in base, percent.
    #[serde(default = "fifty")]
    pub inventory_target_base_pct: Decimal,
    /// Width of the skew's range, in multiples of the total order amount.
    #[serde(default = "one_dec")]
    pub inventory_range_multiplier: Decimal,
    /// Cancel orders closer to the mid than this, percent (negative: off).
    #[serde(default = "minus_hundred")]
    pub minimum_spread: Decimal,
    /// Above this mid price only sell (negative: off).
    #[serde(default = "minus_one")]
    pub price_ceiling: Decimal,
    /// Below this mid price only buy (negative: off).
    #[serde(default = "minus_one")]
    pub price_floor: Decimal,
}

fn one() -> u32 {
    1
}
fn one_dec() -> Decimal {
    Decimal::ONE
}
fn thirty() -> f64 {
    30.0
}
fn sixty() -> f64 {
    60.0
}
fn fifty() -> Decimal {
    Decimal::new(50, 0)
}
fn minus_hundred() -> Decimal {
    Decimal::new(-100, 0)
}
fn minus_one() -> Decimal {
    Decimal::NEGATIVE_ONE
}

/// Shortest `order_refresh_time`, in seconds.
pub const MIN_REFRESH_SECS: f64 = 0.001;

/// Largest `inventory_range_multiplier`: the skew's range, the total order amount (at most
/// 10^15 × 1,000 levels, and as much again per level of `order_level_amount`: about 5 × 10^20)
/// times this, stays within `rust_decimal`'s 7.9 × 10^28.
pub const MAX_RANGE_MULTIPLIER: i64 = 100_000_000;

impl PureMarketMakingConfig {
    pub fn check(&self) -> Result<(), (String, String)> {
        use crate::bounds::{count, from_to, positive};
        use crate::config::keyed as key;
        let (zero, hundred) = (Decimal::ZERO, Decimal::ONE_HUNDRED);
        let pct = " (percent)";
        from_to(self.bid_spread, zero, hundred, pct).map_err(key("bid_spread"))?;
        from_to(self.ask_spread, zero, hundred, pct).map_err(key("ask_spread"))?;
        super::amount(self.order_amount).map_err(key("order_amount"))?;
        let max_amount = Decimal::from(super::MAX_AMOUNT);
        from_to(self.order_level_amount, zero, max_amount, "")
            .map_err(key("order_level_amount"))?;
        count(
            u64::from(self.order_levels),
            1,
            u64::from(super::MAX_LEVELS),
        )
        .map_err(key("order_levels"))?;
        from_to(self.order_level_spread, zero, hundred, pct).map_err(key("order_level_spread"))?;
        from_to(self.order_refresh_tolerance_pct, zero, hundred, pct)
            .map_err(key("order_refresh_tolerance_pct"))?;
        // The strategy acts on a 100 ms timer; a refresh time of less than a millisecond is
        // not one Hummingbot could keep either.
        let refresh = self.order_refresh_time;
        if !(refresh >= MIN_REFRESH_SECS && crate::utc::secs_ns(refresh).is_ok()) {
            return Err((
                "order_refresh_time".into(),
                format!(
                    "{refresh:?} is not a number of seconds from {MIN_REFRESH_SECS} to {} (ten \
                     years)",
                    crate::utc::MAX_SECS
                ),
            ));
        }
        crate::utc::secs_ns(self.filled_order_delay).map_err(key("filled_order_delay"))?;
        from_to(self.inventory_target_base_pct, zero, hundred, pct)
            .map_err(key("inventory_target_base_pct"))?;
        positive(
            self.inventory_range_multiplier,
            Decimal::from(MAX_RANGE_MULTIPLIER),
            "",
        )
        .map_err(key("inventory_range_multiplier"))?;
        // Negative turns these off; a positive one is a percent or a price.
        if !self.minimum_spread.is_sign_negative() {
            from_to(
                self.minimum_spread,
                zero,
                hundred,
                " (percent; negative: off)",
            )
            .map_err(key("minimum_spread"))?;
        }
        for (k, v) in [
            ("price_ceiling", self.price_ceiling),
            ("price_floor", self.price_floor),
        ] {
            if !v.is_sign_negative() {
                from_to(v, zero, max_amount, " (negative: off)").map_err(key(k))?;
            }
        }
        Ok(())
    }
}

/// An order of ours the strategy tracks.
#[derive(Debug, Clone, Copy)]
struct Live {
    side: Side,
    price: Decimal,
}

pub struct PureMarketMaking {
    cfg: PureMarketMakingConfig,
    /// `minimum_spread` as a fraction, when it is on.
    min_spread: Option<Decimal>,
    market: Option<MarketId>,
    live: BTreeMap<OrderId, Live>,
    /// The top of the book at which every live order last passed the minimum-spread check.
    /// Orders only leave `live` between placements, so at the same top they pass again.
    spread_checked: Option<(crate::value::Price, crate::value::Price)>,
    refresh_at: i64,
    hold_until: i64,
}

/// A duration the config check accepted, in ns.
fn secs(s: f64) -> i64 {
    crate::utc::secs_ns(s).unwrap_or(0)
}

impl PureMarketMaking {
    pub fn new(cfg: PureMarketMakingConfig) -> Self {
        PureMarketMaking {
            min_spread: (cfg.minimum_spread >= Decimal::ZERO)
                .then(|| cfg.minimum_spread / Decimal::ONE_HUNDRED),
            cfg,
            market: None,
            live: BTreeMap::new(),
            spread_checked: None,
            refresh_at: i64::MIN,
            hold_until: i64::MIN,
        }
    }

    /// The orders Hummingbot's strategy would want now: (side, price, amount).
    fn proposal(&self, ctx: &Ctx, m: MarketId, mid: Decimal) -> Vec<(Side, Decimal, Decimal)> {
        let c = &self.cfg;
        let r = ctx.rules(m);
        let (pp, ap) = (r.price_precision, r.amount_precision);
        let hundred = Decimal::ONE_HUNDRED;
        let (mut bid_ratio, mut ask_ratio) = (Decimal::ONE, Decimal::ONE);
        if c.inventory_skew_enabled {
            // The config's bounds hold this arithmetic; balances grown past rust_decimal's
            // range by trading leave the orders unskewed rather than panic.
            if let Some(ratio) = self.skew(ctx, m, mid) {
                bid_ratio = ratio;
                ask_ratio = Decimal::TWO - ratio;
            }
        }
        let buys = !(c.price_ceiling > Decimal::ZERO && mid > c.price_ceiling);
        let sells = !(c.price_floor > Decimal::ZERO && mid < c.price_floor);
        let mut out = Vec::new();
        for i in 0..c.order_levels {
            let i = Decimal::from(i);
            let amount = c.order_amount + c.order_level_amount * i;
            let step = c.order_level_spread * i;
            let bid = round_to(
                mid * (Decimal::ONE - (c.bid_spread + step) / hundred),
                pp,
                false,
            );
            let ask = round_to(
                mid * (Decimal::ONE + (c.ask_spread + step) / hundred),
                pp,
                true,
            );
            if buys {
                out.push((Side::Buy, bid, round_to(amount * bid_ratio, ap, false)));
            }
            if sells {
                out.push((Side::Sell, ask, round_to(amount * ask_ratio, ap, false)));
            }
        }
        let min = r.min_amount.to_decimal();
        out.retain(|(_, p, a)| *a >= min && *p > Decimal::ZERO);
        out
    }

    /// Hummingbot's inventory skew: the bid's amount ratio (the ask's is 2 − it), from 0 to 2.
    fn skew(&self, ctx: &Ctx, m: MarketId, mid: Decimal) -> Option<Decimal> {
        let c = &self.cfg;
        let r = ctx.rules(m);
        let base = ctx
            .available(&r.base_unit)
            .checked_add(locked(ctx, &r.base_unit))?;
        let quote = ctx
            .available(&r.quote_unit)
            .checked_add(locked(ctx, &r.quote_unit))?;
        let total_value = base.checked_mul(mid)?.checked_add(quote)?;
        let levels = Decimal::from(c.order_levels);
        let total_amount = c.order_amount * levels
            + c.order_level_amount * levels * (levels - Decimal::ONE) / Decimal::TWO;
        let range = total_amount * c.inventory_range_multiplier;
        if mid <= Decimal::ZERO || range <= Decimal::ZERO {
            return None;
        }
        let target = total_value
            .checked_mul(c.inventory_target_base_pct)?
            .checked_div(Decimal::ONE_HUNDRED)?
            .checked_div(mid)?;
        let ratio = Decimal::ONE + target.checked_sub(base)?.checked_div(range)?;
        Some(ratio.clamp(Decimal::ZERO, Decimal::TWO))
    }

    fn within_tolerance(&self, want: &[(Side, Decimal, Decimal)]) -> bool {
        if want.len() != self.live.len() {
            return false;
        }
        let tol = self.cfg.order_refresh_tolerance_pct / Decimal::ONE_HUNDRED;
        let mut have: Vec<_> = self.live.values().map(|l| (l.side, l.price)).collect();
        let mut want: Vec<_> = want.iter().map(|(s, p, _)| (*s, *p)).collect();
        have.sort();
        want.sort();
        have.iter()
            .zip(&want)
            .all(|((s1, p1), (s2, p2))| s1 == s2 && ((*p1 - *p2).abs() <= tol * *p2))
    }
}

fn locked(ctx: &Ctx, currency: &str) -> Decimal {
    ctx.balance(currency).locked.to_decimal()
}

impl Strategy for PureMarketMaking {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.market = ctx.market_id(&self.cfg.market);
    }

    fn timer_ns(&self) -> Option<i64> {
        Some(100_000_000)
    }

    fn on_timer(&mut self, ctx: &mut Ctx) {
        let Some(m) = self.market else { return };
        if !ctx.book_valid(m) {
            return;
        }
        let Some((bid, ask)) = ctx.top(m) else {
            return;
        };
        let mid = || (bid.price.to_decimal() + ask.price.to_decimal()) / Decimal::TWO;
        let now = ctx.now();
        let top = Some((bid.price, ask.price));
        if let Some(frac) = self.min_spread.filter(|_| self.spread_checked != top) {
            let mid = mid();
            let min = frac * mid;
            let close: Vec<OrderId> = self
                .live
                .iter()
                .filter(|(_, l)| (l.price - mid).abs() < min)
                .map(|(id, _)| *id)
                .collect();
            for id in close {
                ctx.cancel(id);
                self.live.remove(&id);
            }
            self.spread_checked = top;
        }
        if now < self.refresh_at || now < self.hold_until {
            return;
        }
        let want = self.proposal(ctx, m, mid());
        self.refresh_at = now.saturating_add(secs(self.cfg.order_refresh_time));
        if self.within_tolerance(&want) {
            return;
        }
        for id in std::mem::take(&mut self.live).into_keys() {
            ctx.cancel(id);
        }
        let r = ctx.rules(m);
        let mut quote = ctx.available(&r.quote_unit);
        let mut base = ctx.available(&r.base_unit);
        for (side, price, amount) in want {
            // Orders the balance cannot cover would only be refused.
            match side {
                Side::Buy if price * amount > quote => continue,
                Side::Sell if amount > base => continue,
                Side::Buy => quote -= price * amount,
                Side::Sell => base -= amount,
            }
            let id = ctx.place(NewOrder::limit(&self.cfg.market, side, amount, price));
            self.live.insert(id, Live { side, price });
            self.spread_checked = None;
        }
    }

    fn on_order(&mut self, _ctx: &mut Ctx, order: &Order) {
        if !order.state.is_open() {
            self.live.remove(&order.id);
        }
    }

    fn on_fill(&mut self, ctx: &mut Ctx, _fill: &Fill) {
        let until = ctx.now().saturating_add(secs(self.cfg.filled_order_delay));
        self.hold_until = until;
        self.refresh_at = self.refresh_at.max(until);
    }

    fn on_reject(&mut self, _ctx: &mut Ctx, order: OrderId, _reject: &Reject) {
        self.live.remove(&order);
    }
}
