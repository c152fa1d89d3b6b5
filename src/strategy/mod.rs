//! Strategies: the `Strategy` trait a user implements, the context it acts through, and the
//! built-in strategies a scenario names.

mod pmm;
mod scripted;
mod twap;

pub use pmm::{PureMarketMaking, PureMarketMakingConfig};
pub use scripted::{Scripted, ScriptedConfig, ScriptedOrder};
pub use twap::{Twap, TwapConfig};

use crate::book::Book;
use crate::sim::{Balance, Fill, NewOrder, Order, OrderId, Reject, Sim};
use crate::tape::{BookSide, MarketId};
use crate::value::{Amount, Price};
use crate::venue::{MarketRules, Side};
use rust_decimal::Decimal;

/// What a strategy can see and do while a callback runs.
pub struct Ctx<'a> {
    sim: &'a mut Sim,
}

impl<'a> Ctx<'a> {
    pub fn new(sim: &'a mut Sim) -> Self {
        Ctx { sim }
    }

    /// The local clock (receive time of the last market event), ns.
    pub fn now(&self) -> i64 {
        self.sim.now()
    }

    /// Sends an order; the answer arrives later through `on_order` / `on_reject`.
    pub fn place(&mut self, order: NewOrder) -> OrderId {
        self.sim.place(order)
    }

    pub fn cancel(&mut self, id: OrderId) {
        self.sim.cancel(id)
    }

    pub fn market_id(&self, name: &str) -> Option<MarketId> {
        self.sim.exchange().market_id(name)
    }

    pub fn rules(&self, m: MarketId) -> &MarketRules {
        &self.sim.exchange().rules()[m.0 as usize]
    }

    /// The book as the feed has shown it so far, in raw units at the market's precisions:
    /// for the engine and its tests. A strategy reads [`best`](Self::best) and
    /// [`levels`](Self::levels).
    pub(crate) fn book(&self, m: MarketId) -> Option<&Book> {
        self.sim.exchange().books().get(m)
    }

    /// Whether the book of `m` is whole: a snapshot since the last gap or disconnect. Orders
    /// sent while it is not are refused.
    pub fn book_valid(&self, m: MarketId) -> bool {
        self.book(m).is_some_and(Book::is_valid)
    }

    /// The best level of one side of the book of `m` (`Buy`: the best bid).
    pub fn best(&self, m: MarketId, side: Side) -> Option<Level> {
        let level = self.book(m)?.best(book_side(side))?;
        Some(self.level(m, level.price, level.amount))
    }

    /// The best bid and ask of `m`, when both sides show.
    pub fn top(&self, m: MarketId) -> Option<(Level, Level)> {
        Some((self.best(m, Side::Buy)?, self.best(m, Side::Sell)?))
    }

    /// Up to `depth` levels of one side of the book of `m`, best first.
    pub fn levels(&self, m: MarketId, side: Side, depth: usize) -> Vec<Level> {
        let Some(book) = self.book(m) else {
            return Vec::new();
        };
        book.levels(book_side(side))
            .take(depth)
            .map(|l| self.level(m, l.price, l.amount))
            .collect()
    }

    fn level(&self, m: MarketId, price: i64, amount: i64) -> Level {
        let r = self.rules(m);
        Level {
            price: Price::new(price, r.price_precision),
            amount: Amount::new(amount, r.amount_precision),
        }
    }

    /// A currency's balance at 16 decimals, as the exchange's answers received so far tell it.
    pub fn balance(&self, currency: &str) -> Balance {
        self.sim.balance(currency)
    }

    /// A currency's available balance as a decimal.
    pub fn available(&self, currency: &str) -> Decimal {
        self.balance(currency).available.to_decimal()
    }
}

/// One price level of a book as a strategy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub price: Price,
    pub amount: Amount,
}

fn book_side(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Bid,
        Side::Sell => BookSide::Ask,
    }
}

/// A trading strategy driven by the replay. Every callback may place and cancel orders.
pub trait Strategy {
    /// Once, before the first event of the sim time range.
    fn on_start(&mut self, _ctx: &mut Ctx) {}
    /// The book of `market` changed.
    fn on_book(&mut self, _ctx: &mut Ctx, _market: MarketId) {}
    /// A public trade printed.
    fn on_trade(
        &mut self,
        _ctx: &mut Ctx,
        _market: MarketId,
        _taker: Side,
        _price: Price,
        _amount: Amount,
    ) {
    }
    /// One of our orders changed state (accepted, filled in part, done, cancelled).
    fn on_order(&mut self, _ctx: &mut Ctx, _order: &Order) {}
    /// One of our orders was filled.
    fn on_fill(&mut self, _ctx: &mut Ctx, _fill: &Fill) {}
    /// An order was refused, or a cancel failed.
    fn on_reject(&mut self, _ctx: &mut Ctx, _order: OrderId, _reject: &Reject) {}
    /// Every [`timer_ns`](Self::timer_ns) of local time.
    fn on_timer(&mut self, _ctx: &mut Ctx) {}
    fn timer_ns(&self) -> Option<i64> {
        None
    }
}

pub use crate::bounds::MAX_AMOUNT;
/// Most order levels per side of `pure_market_making`.
pub const MAX_LEVELS: u32 = 1000;

/// A positive decimal no larger than [`MAX_AMOUNT`]; the reason otherwise.
fn amount(d: Decimal) -> Result<(), crate::bounds::Refused> {
    crate::bounds::positive(d, Decimal::from(MAX_AMOUNT), "")
}

/// `[strategy]` of a scenario: `kind` names the strategy, the other keys are its parameters.
#[derive(Debug, Clone)]
pub enum StrategyConfig {
    PureMarketMaking(PureMarketMakingConfig),
    Twap(TwapConfig),
    Scripted(ScriptedConfig),
}

/// Reads one strategy's parameters; errors as (key, reason).
fn parameters<T: serde::de::DeserializeOwned>(t: toml::Table) -> Result<T, (String, String)> {
    T::deserialize(toml::Value::Table(t)).map_err(|e| {
        let text = e.to_string();
        let (msg, key) = match text.split_once("\nin `") {
            Some((m, k)) => (
                m.to_string(),
                k.trim_end().trim_end_matches('`').to_string(),
            ),
            None => (text.trim_end().to_string(), String::new()),
        };
        let key = if key.is_empty() {
            msg.strip_prefix("unknown field `")
                .and_then(|r| r.split_once('`'))
                .map_or(String::new(), |(k, _)| k.to_string())
        } else {
            key
        };
        (key, msg)
    })
}

impl StrategyConfig {
    /// Reads a `[strategy]` table.
    pub fn from_table(mut t: toml::Table) -> Result<Self, (String, String)> {
        const KINDS: &str = "pure_market_making, twap or scripted";
        let kind = match t.remove("kind") {
            Some(toml::Value::String(k)) => k,
            Some(_) => return Err(("kind".into(), format!("must be a string: {KINDS}"))),
            None => return Err(("kind".into(), format!("missing: {KINDS}"))),
        };
        match kind.as_str() {
            "pure_market_making" => parameters(t).map(StrategyConfig::PureMarketMaking),
            "twap" => parameters(t).map(StrategyConfig::Twap),
            "scripted" => ScriptedConfig::from_table(t).map(StrategyConfig::Scripted),
            other => Err((
                "kind".into(),
                format!("unknown strategy {other:?}: {KINDS}"),
            )),
        }
    }

    /// Checks values serde cannot: (key, reason) of the first bad one.
    pub fn check(&self) -> Result<(), (String, String)> {
        match self {
            StrategyConfig::PureMarketMaking(c) => c.check(),
            StrategyConfig::Twap(c) => c.check(),
            StrategyConfig::Scripted(c) => c.check(),
        }
    }

    /// The market the strategy trades.
    pub fn market(&self) -> Option<&str> {
        match self {
            StrategyConfig::PureMarketMaking(c) => Some(&c.market),
            StrategyConfig::Twap(c) => Some(&c.market),
            StrategyConfig::Scripted(c) => c.market(),
        }
    }

    /// Builds the strategy; `base_dir` anchors relative paths.
    pub fn build(
        &self,
        base_dir: &std::path::Path,
    ) -> Result<Box<dyn Strategy + Send>, crate::config::ConfigError> {
        Ok(match self {
            StrategyConfig::PureMarketMaking(c) => Box::new(PureMarketMaking::new(c.clone())),
            StrategyConfig::Twap(c) => Box::new(Twap::new(c.clone())),
            StrategyConfig::Scripted(c) => Box::new(Scripted::new(c.clone(), base_dir)?),
        })
    }
}

/// A decimal at a market's precision, rounded toward zero or away from it.
pub fn round_to(d: Decimal, scale: u32, up: bool) -> Decimal {
    let strategy = if up {
        rust_decimal::RoundingStrategy::AwayFromZero
    } else {
        rust_decimal::RoundingStrategy::ToZero
    };
    d.round_dp_with_strategy(scale, strategy).normalize()
}
