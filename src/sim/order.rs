//! Orders, their states, what the simulator reports, and Peatio's validation.

use super::accounts::{Balance, BALANCE_SCALE};
use crate::fixed::{self, FixedError};
use crate::tape::MarketId;
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
    fixed::parse_str(&d.to_string(), scale).map_err(|e| {
        let why = match e {
            FixedError::TooPrecise { scale } => {
                format!("{what} {d} has more than {scale} decimals")
            }
            other => format!("{what} {d}: {other}"),
        };
        reject(codes::INVALID_VOLUME_OR_PRICE, why)
    })
}

/// Peatio's checks that need only the market's rules (PROTOCOL.md §3).
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
    if volume < rules.min_amount {
        return Err(reject(
            codes::INVALID_VOLUME_OR_PRICE,
            format!(
                "volume {} is under the minimum {}",
                req.volume,
                fixed::format(rules.min_amount.into(), rules.amount_precision)
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
            let pp = rules.price_precision;
            if price < rules.min_price || price <= 0 {
                return Err(reject(
                    codes::INVALID_VOLUME_OR_PRICE,
                    format!(
                        "price {p} is under the minimum {}",
                        fixed::format(rules.min_price.into(), pp)
                    ),
                ));
            }
            if rules.max_price > 0 && price > rules.max_price {
                return Err(reject(
                    codes::INVALID_VOLUME_OR_PRICE,
                    format!(
                        "price {p} is over the maximum {}",
                        fixed::format(rules.max_price.into(), pp)
                    ),
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

/// An order inside the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub market: MarketId,
    pub side: Side,
    pub ord_type: OrdType,
    /// At price precision; `None` for market orders.
    pub price: Option<i64>,
    /// At amount precision.
    pub origin: i64,
    pub remaining: i64,
    /// Σ price × amount of its fills, at price + amount precision.
    pub cost: i128,
    pub state: OrderState,
    pub trades_count: u64,
    pub created_ns: i64,
    pub updated_ns: i64,
    /// Funds still held for it, at 16 decimals, in the currency it spends.
    pub locked: i128,
    /// Volume ahead of it in its price level's queue (resting limit orders).
    pub queue_ahead: i64,
    /// Volume traded at its level since the level's last update (so the update that follows a
    /// trade is not counted twice).
    pub traded_since_update: i64,
}

impl Order {
    pub fn executed(&self) -> i64 {
        self.origin - self.remaining
    }

    /// Volume-weighted fill price at price precision (truncated), 0 before any fill.
    pub fn avg_price(&self) -> i64 {
        match self.executed() {
            0 => 0,
            e => (self.cost / i128::from(e)) as i64,
        }
    }

    /// The private `order` frame for it.
    pub fn to_wire(&self, rules: &MarketRules) -> OrderUpdate {
        let (pp, ap) = (rules.price_precision, rules.amount_precision);
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
            price: self.price.map(|p| fixed::format(p.into(), pp)),
            avg_price: fixed::format(self.avg_price().into(), pp),
            state: self.state.as_str().into(),
            origin_volume: fixed::format(self.origin.into(), ap),
            remaining_volume: fixed::format(self.remaining.into(), ap),
            executed_volume: fixed::format(self.executed().into(), ap),
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
    /// At price precision.
    pub price: i64,
    /// At amount precision.
    pub amount: i64,
    /// price × amount, at price + amount precision.
    pub total: i128,
    /// True when our order was resting (maker).
    pub maker: bool,
    /// Rate in millionths.
    pub fee_rate: i64,
    /// At 16 decimals, in `fee_currency`.
    pub fee: i128,
    pub fee_currency: String,
    pub at_ns: i64,
}

impl Fill {
    /// The private `trade` frame for it, with the REST trade's fee fields.
    pub fn to_wire(&self, rules: &MarketRules) -> TradeUpdate {
        let (pp, ap) = (rules.price_precision, rules.amount_precision);
        let taker_type = if self.maker {
            self.side.opposite()
        } else {
            self.side
        };
        TradeUpdate {
            id: self.trade_id,
            price: fixed::format(self.price.into(), pp),
            amount: fixed::format(self.amount.into(), ap),
            total: fixed::format(self.total, pp + ap),
            market: rules.id.clone(),
            side: self.side,
            taker_type,
            created_at: self.at_ns.div_euclid(1_000_000_000),
            order_id: self.order_id,
            fee_currency: Some(self.fee_currency.clone()),
            fee: Some(fixed::format(self.fee_rate.into(), super::fees::RATE_SCALE)),
            fee_amount: Some(fixed::format(self.fee, BALANCE_SCALE)),
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

/// Orders by id. Ids are handed out in sequence from 1, so a vector indexed by id serves.
#[derive(Debug, Clone, Default)]
pub struct OrderTable(Vec<Option<Order>>);

impl OrderTable {
    pub fn get(&self, id: &OrderId) -> Option<&Order> {
        self.0.get(*id as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, id: &OrderId) -> Option<&mut Order> {
        self.0.get_mut(*id as usize).and_then(Option::as_mut)
    }

    pub fn insert(&mut self, id: OrderId, order: Order) {
        let i = id as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i] = Some(order);
    }

    /// Every order, by id.
    pub fn values(&self) -> impl Iterator<Item = &Order> {
        self.0.iter().flatten()
    }
}

impl std::ops::Index<&OrderId> for OrderTable {
    type Output = Order;
    fn index(&self, id: &OrderId) -> &Order {
        self.get(id).expect("an order the exchange created")
    }
}
