//! Orders, their states, what the simulator reports, and Peatio's validation.

use super::accounts::{Balance, BALANCE_SCALE};
use crate::fixed::FixedError;
use crate::tape::MarketId;
use crate::value::{Amount, Funds, Price, Rate};
use crate::venue::rest::codes;
use crate::venue::{MarketRules, MarketState, OrderUpdate, Side, TradeUpdate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub type OrderId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrdType {
    Limit,
    Market,
}

impl OrdType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrdType::Limit => "limit",
            OrdType::Market => "market",
        }
    }
}

/// Peatio's order states (`pending` is the time in flight, which the strategy sees as no
/// answer yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    Wait,
    Done,
    Cancel,
    Reject,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Wait => "wait",
            OrderState::Done => "done",
            OrderState::Cancel => "cancel",
            OrderState::Reject => "reject",
        }
    }
    pub fn is_open(self) -> bool {
        self == OrderState::Wait
    }
}

/// An order as a strategy asks for it: decimals, as a user would send them over REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub market: String,
    pub side: Side,
    pub ord_type: OrdType,
    pub volume: Decimal,
    pub price: Option<Decimal>,
}

impl NewOrder {
    pub fn limit(market: &str, side: Side, volume: Decimal, price: Decimal) -> Self {
        NewOrder {
            market: market.to_string(),
            side,
            ord_type: OrdType::Limit,
            volume,
            price: Some(price),
        }
    }
    pub fn market(market: &str, side: Side, volume: Decimal) -> Self {
        NewOrder {
            market: market.to_string(),
            side,
            ord_type: OrdType::Market,
            volume,
            price: None,
        }
    }
}

/// An order the simulator refused, with Peatio's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub code: &'static str,
    pub reason: String,
}

pub(crate) fn reject(code: &'static str, reason: impl Into<String>) -> Reject {
    Reject {
        code,
        reason: reason.into(),
    }
}

/// A validated order's numbers, fixed-point at the market's precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    pub market: MarketId,
    pub volume: i64,
    pub price: Option<i64>,
}

fn to_fixed(d: Decimal, scale: u32, what: &str) -> Result<i64, Reject> {
    Amount::from_decimal(d, scale)
        .map(Amount::raw)
        .map_err(|e| {
            let why = match e {
                FixedError::TooPrecise { scale } => {
                    format!("{what} {d} has more than {scale} decimals")
                }
                other => format!("{what} {d}: {other}"),
            };
            reject(codes::INVALID_VOLUME_OR_PRICE, why)
        })
}

/// Peatio's checks that need only the market's rules (docs/protocol.md §4).
pub(crate) fn validate(
    req: &NewOrder,
    id: MarketId,
    rules: &MarketRules,
) -> Result<Checked, Reject> {
    if rules.state != MarketState::Enabled {
        return Err(reject(
            codes::MARKET_NOT_ENABLED,
            format!("market {} is not enabled", rules.id),
        ));
    }
    let volume = to_fixed(req.volume, rules.amount_precision, "volume")?;
    if volume <= 0 {
        return Err(reject(
            codes::INVALID_VOLUME_OR_PRICE,
            "volume must be positive",
        ));
    }
    if volume < rules.min_amount.raw() {
        return Err(reject(
            codes::INVALID_VOLUME_OR_PRICE,
            format!(
                "volume {} is under the minimum {}",
                req.volume, rules.min_amount
            ),
        ));
    }
    let price = match (req.ord_type, req.price) {
        (OrdType::Market, Some(_)) => {
            return Err(reject(
                codes::MARKET_ORDER_PRICE,
                "a market order takes no price",
            ))
        }
        (OrdType::Market, None) => None,
        (OrdType::Limit, None) => {
            return Err(reject(
                codes::INVALID_VOLUME_OR_PRICE,
                "a limit order needs a price",
            ))
        }
        (OrdType::Limit, Some(p)) => {
            let price = to_fixed(p, rules.price_precision, "price")?;
            if i128::from(price) < rules.min_price.raw() || price <= 0 {
                return Err(reject(
                    codes::INVALID_VOLUME_OR_PRICE,
                    format!("price {p} is under the minimum {}", rules.min_price),
                ));
            }
            if let Some(max) = rules.max_price.filter(|m| i128::from(price) > m.raw()) {
                return Err(reject(
                    codes::INVALID_VOLUME_OR_PRICE,
                    format!("price {p} is over the maximum {max}"),
                ));
            }
            Some(price)
        }
    };
    Ok(Checked {
        market: id,
        volume,
        price,
    })
}

/// An order inside the simulator. Its numbers are read through typed values: [`price`],
/// [`origin_volume`], [`remaining_volume`], [`executed_volume`], [`avg_price`], [`cost`],
/// [`locked`] and [`queue_ahead`].
///
/// [`price`]: Order::price
/// [`origin_volume`]: Order::origin_volume
/// [`remaining_volume`]: Order::remaining_volume
/// [`executed_volume`]: Order::executed_volume
/// [`avg_price`]: Order::avg_price
/// [`cost`]: Order::cost
/// [`locked`]: Order::locked
/// [`queue_ahead`]: Order::queue_ahead
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub market: MarketId,
    pub side: Side,
    pub ord_type: OrdType,
    pub state: OrderState,
    pub trades_count: u64,
    pub created_ns: i64,
    pub updated_ns: i64,
    /// The market's price and amount precisions, the scales of the fields below.
    pub(crate) scales: (u8, u8),
    /// At price precision; `None` for market orders.
    pub(crate) price: Option<i64>,
    /// At amount precision.
    pub(crate) origin: i64,
    pub(crate) remaining: i64,
    /// Σ price × amount of its fills, at price + amount precision.
    pub(crate) cost: i128,
    /// Funds still held for it, at 16 decimals, in the currency it spends.
    pub(crate) locked: i128,
    /// Volume ahead of it in its price level's queue (resting limit orders).
    pub(crate) queue_ahead: i64,
    /// Volume traded at its level since the level's last update (so the update that follows a
    /// trade is not counted twice).
    pub(crate) traded_since_update: i64,
}

impl Order {
    fn pp(&self) -> u32 {
        self.scales.0.into()
    }

    fn ap(&self) -> u32 {
        self.scales.1.into()
    }

    /// Its limit price; `None` for a market order.
    pub fn price(&self) -> Option<Price> {
        self.price.map(|p| Price::new(p, self.pp()))
    }

    /// The volume it was placed with.
    pub fn origin_volume(&self) -> Amount {
        Amount::new(self.origin, self.ap())
    }

    /// The volume still to fill.
    pub fn remaining_volume(&self) -> Amount {
        Amount::new(self.remaining, self.ap())
    }

    /// The volume filled so far.
    pub fn executed_volume(&self) -> Amount {
        Amount::new(self.executed(), self.ap())
    }

    pub(crate) fn executed(&self) -> i64 {
        self.origin - self.remaining
    }

    /// Volume-weighted fill price at price precision (truncated), 0 before any fill.
    pub fn avg_price(&self) -> Price {
        let avg = match self.executed() {
            0 => 0,
            e => (self.cost / i128::from(e)) as i64,
        };
        Price::new(avg, self.pp())
    }

    /// Σ price × amount of its fills, at price + amount precision.
    pub fn cost(&self) -> Funds {
        Funds::new(self.cost, self.pp() + self.ap())
    }

    /// Funds still held for it, in the currency it spends.
    pub fn locked(&self) -> Funds {
        Funds::new(self.locked, BALANCE_SCALE)
    }

    /// Volume ahead of it in its price level's queue, as the queue model estimates it.
    pub fn queue_ahead(&self) -> Amount {
        Amount::new(self.queue_ahead, self.ap())
    }

    /// The private `order` frame for it.
    pub fn to_wire(&self, rules: &MarketRules) -> OrderUpdate {
        let secs = |ns: i64| ns.div_euclid(1_000_000_000);
        OrderUpdate {
            id: self.id,
            market: rules.id.clone(),
            kind: match self.side {
                Side::Buy => "bid",
                Side::Sell => "ask",
            }
            .into(),
            side: self.side,
            ord_type: self.ord_type.as_str().into(),
            price: self.price().map(Price::text),
            avg_price: self.avg_price().text(),
            state: self.state.as_str().into(),
            origin_volume: self.origin_volume().text(),
            remaining_volume: self.remaining_volume().text(),
            executed_volume: self.executed_volume().text(),
            at: secs(self.created_ns),
            created_at: secs(self.created_ns),
            updated_at: secs(self.updated_ns),
            trades_count: self.trades_count,
        }
    }
}

/// One fill of one of our orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub trade_id: u64,
    pub order_id: OrderId,
    pub market: MarketId,
    pub side: Side,
    /// At the market's price precision.
    pub price: Price,
    /// At the market's amount precision.
    pub amount: Amount,
    /// price × amount, at price + amount precision.
    pub total: Funds,
    /// True when our order was resting (maker).
    pub maker: bool,
    pub fee_rate: Rate,
    /// At 16 decimals, in `fee_currency`.
    pub fee: Funds,
    pub fee_currency: String,
    pub at_ns: i64,
}

impl Fill {
    /// The private `trade` frame for it, with the REST trade's fee fields.
    pub fn to_wire(&self, rules: &MarketRules) -> TradeUpdate {
        let taker_type = if self.maker {
            self.side.opposite()
        } else {
            self.side
        };
        TradeUpdate {
            id: self.trade_id,
            price: self.price.text(),
            amount: self.amount.text(),
            total: self.total.text(),
            market: rules.id.clone(),
            side: self.side,
            taker_type,
            created_at: self.at_ns.div_euclid(1_000_000_000),
            order_id: self.order_id,
            fee_currency: Some(self.fee_currency.clone()),
            fee: Some(self.fee_rate.text()),
            fee_amount: Some(self.fee.text()),
        }
    }
}

/// What the exchange tells the strategy, stamped with the exchange's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// An order changed state or was filled: its state after the change.
    Order(Order),
    Fill(Fill),
    /// An order was refused at entry (its state is `reject`).
    Rejected {
        order_id: OrderId,
        reject: Reject,
    },
    /// A cancel could not be done.
    CancelFailed {
        order_id: OrderId,
        reject: Reject,
    },
    /// A currency's balance after a change (the private `balance` stream): what the client
    /// knows of its funds.
    Balance {
        currency: String,
        balance: Balance,
    },
}

/// Orders by id. Ids are handed out in sequence from 1, so a window of slots indexed by id
/// serves. The window starts at the oldest order still open (or among the last
/// [`RECENT_ORDERS`] ids): finished orders before it are remembered only as having existed,
/// a bit each, so memory follows the orders open at once, not every order of a long run.
#[derive(Debug, Clone, Default)]
pub struct OrderTable {
    /// The id of `slots[0]`.
    base: u64,
    slots: std::collections::VecDeque<Option<Order>>,
    /// Bit `id` is set for each order below `base` that existed (was accepted).
    existed: Vec<u64>,
}

/// Finished orders kept whole (by id) before the table forgets them.
pub const RECENT_ORDERS: u64 = 1024;

impl OrderTable {
    #[inline]
    pub fn get(&self, id: &OrderId) -> Option<&Order> {
        let i = id.checked_sub(self.base)?;
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    #[inline]
    pub fn get_mut(&mut self, id: &OrderId) -> Option<&mut Order> {
        let i = id.checked_sub(self.base)?;
        self.slots.get_mut(i as usize).and_then(Option::as_mut)
    }

    /// Adds an order; ids come in sequence, so never below the window.
    pub fn insert(&mut self, id: OrderId, order: Order) {
        let i = id
            .checked_sub(self.base)
            .expect("order ids are handed out in sequence") as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(order);
    }

    /// Every order still held, by id: the open ones and the recently finished.
    pub fn values(&self) -> impl Iterator<Item = &Order> {
        self.slots.iter().flatten()
    }

    /// Whether an order of this id was accepted (open, finished or forgotten).
    pub fn existed(&self, id: OrderId) -> bool {
        if id >= self.base {
            return self.get(&id).is_some();
        }
        self.existed
            .get((id / 64) as usize)
            .is_some_and(|w| w >> (id % 64) & 1 == 1)
    }

    /// Forgets the finished orders at the window's start, while more than
    /// [`RECENT_ORDERS`] ids lie between it and `next_id`.
    pub fn compact(&mut self, next_id: OrderId) {
        while self.base.saturating_add(RECENT_ORDERS) < next_id {
            match self.slots.front() {
                Some(Some(o)) if o.state.is_open() => break,
                None => break,
                Some(slot) => {
                    if slot.is_some() {
                        let (w, b) = ((self.base / 64) as usize, self.base % 64);
                        if self.existed.len() <= w {
                            self.existed.resize(w + 1, 0);
                        }
                        self.existed[w] |= 1 << b;
                    }
                    self.slots.pop_front();
                    self.base += 1;
                }
            }
        }
    }
}

impl std::ops::Index<&OrderId> for OrderTable {
    type Output = Order;
    fn index(&self, id: &OrderId) -> &Order {
        self.get(id).expect("an order the exchange created")
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn order(id: OrderId, state: OrderState) -> Order {
        Order {
            id,
            market: crate::tape::MarketId(0),
            side: Side::Buy,
            ord_type: OrdType::Limit,
            scales: (0, 0),
            price: Some(1),
            origin: 1,
            remaining: 1,
            cost: 0,
            state,
            trades_count: 0,
            created_ns: 0,
            updated_ns: 0,
            locked: 0,
            queue_ahead: 0,
            traded_since_update: 0,
        }
    }

    #[test]
    fn finished_orders_leave_the_window_and_an_open_one_holds_it() {
        let mut t = OrderTable::default();
        let n = 3 * RECENT_ORDERS;
        // Order 5 stays open; 7 was refused (never inserted); the rest are done.
        for id in 1..=n {
            if id == 7 {
                continue;
            }
            let state = if id == 5 {
                OrderState::Wait
            } else {
                OrderState::Done
            };
            t.insert(id, order(id, state));
        }
        t.compact(n + 1);
        assert_eq!(t.base, 5, "the open order holds the window");
        t.get_mut(&5).unwrap().state = OrderState::Cancel;
        t.compact(n + 1);
        assert_eq!(t.base, n + 1 - RECENT_ORDERS);
        assert_eq!(t.values().count() as u64, RECENT_ORDERS);
        assert!(t.get(&6).is_none() && t.existed(6) && t.existed(5));
        assert!(!t.existed(7), "a refused order never existed");
        assert!(!t.existed(0) && !t.existed(n + 5));
        assert!(t.get(&n).is_some() && t.existed(n));
    }
}
