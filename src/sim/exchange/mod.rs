//! The matching core: Peatio's rules applied to our orders against the replayed book and
//! trades, on the exchange's clock.

use super::accounts::{Accounts, Balance, BALANCE_SCALE};
use super::fees::{fee_of, FeeMode, FeeSchedule};
use super::order::{
    reject, validate, Fill, NewOrder, OrdType, Order, OrderId, OrderState, OrderTable, Reject,
    SimEvent,
};
use super::queue::QueueModel;
use crate::book::{Book, Books};
use crate::tape::{BookSide, MarketId};
use crate::value::{Amount, Funds, Price, Rate};
use crate::venue::rest::codes;
use crate::venue::{MarketRules, Side};
use liquidity::{BuyCost, Taken};
pub use maker::{Applied, Probe, Watch};
use resting::{Resting, RestingOrders};
use std::collections::{BTreeMap, VecDeque};

mod liquidity;
mod maker;
mod resting;

const THIRTY_DAYS_NS: i64 = 30 * 86_400 * 1_000_000_000;

/// Per-market state beside the book.
#[derive(Debug, Default)]
struct MarketSim {
    /// Our resting orders, oldest first.
    resting: RestingOrders,
    /// Liquidity of the shown book that our fills consumed.
    taken: Taken,
    /// Our fills' quote volume (16 decimals) over the last 30 days, for fee tiers.
    volume: VecDeque<(i64, i128)>,
    volume_sum: i128,
}

/// The simulated exchange.
pub struct Exchange {
    rules: Vec<MarketRules>,
    markets: Vec<MarketSim>,
    books: Books,
    fees: FeeSchedule,
    queue: QueueModel,
    accounts: Accounts,
    orders: OrderTable,
    next_order: OrderId,
    next_trade: u64,
    out: Vec<(i64, SimEvent)>,
    /// The balances last reported to the client, per currency.
    reported: BTreeMap<String, Balance>,
}

fn book_side(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Bid,
        Side::Sell => BookSide::Ask,
    }
}

impl Exchange {
    /// `rules` in [`MarketId`] order (as the normalizer numbers them).
    pub fn new(rules: Vec<MarketRules>, fees: FeeSchedule, queue: QueueModel) -> Self {
        let markets = rules.iter().map(|_| MarketSim::default()).collect();
        Exchange {
            rules,
            markets,
            books: Books::new(),
            fees,
            queue,
            accounts: Accounts::new(),
            orders: OrderTable::default(),
            next_order: 1,
            next_trade: 1,
            out: Vec::new(),
            reported: BTreeMap::new(),
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Credits a currency before the run.
    pub fn deposit(
        &mut self,
        currency: &str,
        amount: rust_decimal::Decimal,
    ) -> Result<(), crate::sim::BadDeposit> {
        let bad = |reason| crate::sim::BadDeposit {
            currency: currency.to_string(),
            amount,
            reason,
        };
        let units = Funds::from_decimal(amount, BALANCE_SCALE)
            .map_err(|e| bad(crate::sim::DepositReason::Value(e)))?
            .raw();
        if units < 0 {
            return Err(bad(crate::sim::DepositReason::Negative));
        }
        self.accounts.deposit(currency, units);
        self.reported
            .insert(currency.to_string(), self.accounts.balance(currency));
        Ok(())
    }

    pub fn rules(&self) -> &[MarketRules] {
        &self.rules
    }

    pub fn market_id(&self, name: &str) -> Option<MarketId> {
        self.rules
            .iter()
            .position(|r| r.id == name)
            .map(|i| MarketId(i as u16))
    }

    pub fn book(&mut self, id: MarketId) -> &Book {
        self.books.get_mut(id)
    }

    pub fn books(&self) -> &Books {
        &self.books
    }

    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }

    /// Every order, by id.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// Our best resting price on `side` of a market: the highest bid or the lowest ask.
    #[inline]
    pub fn best_own(&self, market: MarketId, side: Side) -> Option<i64> {
        self.markets.get(market.0 as usize)?.resting.best(side)
    }

    /// True when events were produced since the last [`drain`](Self::drain).
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Takes the events produced so far.
    pub fn drain(&mut self, into: &mut Vec<(i64, SimEvent)>) {
        into.append(&mut self.out);
    }

    /// Hands out the id the next order will carry (the client knows it before the exchange).
    pub fn reserve_id(&mut self) -> OrderId {
        let id = self.next_order;
        self.next_order += 1;
        id
    }

    fn scale_amount(&self, m: MarketId, amount: i64) -> i128 {
        i128::from(amount) * 10i128.pow(BALANCE_SCALE - self.rules[m.0 as usize].amount_precision)
    }

    fn scale_total(&self, m: MarketId, total: i128) -> i128 {
        total * 10i128.pow(BALANCE_SCALE - self.rules[m.0 as usize].total_scale())
    }

    /// What buying costs on market `m`, with the fee on top in the `quote` fee mode.
    fn buy_cost(&self, m: MarketId) -> BuyCost {
        let r = &self.rules[m.0 as usize];
        BuyCost {
            unit: 10i128.pow(BALANCE_SCALE - r.total_scale()),
            quote_fee_rate: match self.fees.mode {
                FeeMode::Received => None,
                FeeMode::Quote => Some(self.fees.default_max_rate(&r.id)),
            },
        }
    }

    fn emit(&mut self, at: i64, ev: SimEvent) {
        self.out.push((at, ev));
    }

    /// Reports an order's state, then its market's balances that changed since last reported
    /// (the private `order` and `balance` streams).
    fn emit_order(&mut self, at: i64, id: OrderId) {
        let o = self.orders[&id].clone();
        let r = &self.rules[o.market.0 as usize];
        let currencies = [r.base_unit.clone(), r.quote_unit.clone()];
        self.emit(at, SimEvent::Order(o));
        for currency in currencies {
            let now = self.accounts.balance(&currency);
            if self.reported.get(&currency).copied().unwrap_or_default() != now {
                self.reported.insert(currency.clone(), now);
                self.emit(
                    at,
                    SimEvent::Balance {
                        currency,
                        balance: now,
                    },
                );
            }
        }
    }

    /// An order reaches the exchange at `now`.
    pub fn submit(&mut self, now: i64, id: OrderId, req: &NewOrder) {
        self.orders.compact(self.next_order);
        let order = match self.admit(now, id, req) {
            Ok(order) => order,
            Err(reject) => {
                return self.emit(
                    now,
                    SimEvent::Rejected {
                        order_id: id,
                        reject,
                    },
                );
            }
        };
        self.orders.insert(id, order);
        self.emit_order(now, id);
        self.take(now, id);
        let o = &self.orders[&id];
        if o.state != OrderState::Wait {
            return;
        }
        if o.ord_type == OrdType::Market || o.remaining == 0 {
            self.close(now, id);
        } else {
            self.rest(id);
        }
    }

    /// Peatio's checks, then the lock of the funds the order needs.
    fn admit(&mut self, now: i64, id: OrderId, req: &NewOrder) -> Result<Order, Reject> {
        let m = self.market_id(&req.market).ok_or_else(|| {
            reject(
                codes::MARKET_NOT_ENABLED,
                format!("no market {:?}", req.market),
            )
        })?;
        let checked = validate(req, m, &self.rules[m.0 as usize])?;
        if !self.books.get_mut(m).is_valid() {
            return Err(reject(
                codes::BOOK_NOT_SYNCED,
                "the order book is not valid (no snapshot since a gap or disconnect)",
            ));
        }
        let (base, quote, scales) = {
            let r = &self.rules[m.0 as usize];
            let scales = (r.price_precision as u8, r.amount_precision as u8);
            (r.base_unit.clone(), r.quote_unit.clone(), scales)
        };
        let amount = match (req.side, checked.price) {
            (Side::Buy, Some(p)) => self.buy_cost(m).of(p, checked.volume),
            (Side::Sell, _) => self.scale_amount(m, checked.volume),
            (Side::Buy, None) => self.market_buy_lock(m, checked.volume, &quote)?,
        };
        if req.ord_type == OrdType::Market && req.side == Side::Sell {
            self.check_liquidity(m, req.side, checked.volume)?;
        }
        let currency = if req.side == Side::Buy { &quote } else { &base };
        self.accounts
            .lock(currency, amount)
            .map_err(|e| reject(codes::INSUFFICIENT_BALANCE, e.to_string()))?;
        Ok(Order {
            id,
            market: m,
            side: req.side,
            ord_type: req.ord_type,
            scales,
            price: checked.price,
            origin: checked.volume,
            remaining: checked.volume,
            cost: 0,
            state: OrderState::Wait,
            trades_count: 0,
            created_ns: now,
            updated_ns: now,
            locked: amount,
            queue_ahead: 0,
            traded_since_update: 0,
        })
    }

    fn check_liquidity(&mut self, m: MarketId, side: Side, volume: i64) -> Result<i128, Reject> {
        let w = self.walk_effective(m, side, volume);
        if w.filled < volume {
            return Err(reject(
                codes::INSUFFICIENT_LIQUIDITY,
                "the book cannot fill the whole volume",
            ));
        }
        Ok(w.cost)
    }

    /// A market buy locks min(estimate × 1.1, available quote).
    fn market_buy_lock(&mut self, m: MarketId, volume: i64, quote: &str) -> Result<i128, Reject> {
        let cost = self.check_liquidity(m, Side::Buy, volume)?;
        let estimate = self.scale_total(m, cost);
        let estimate = match self.fees.mode {
            FeeMode::Received => estimate,
            FeeMode::Quote => {
                estimate
                    + fee_of(
                        estimate,
                        self.fees.default_max_rate(&self.rules[m.0 as usize].id),
                    )
            }
        };
        let want = estimate + estimate / 10;
        let available = self.accounts.available_units(quote);
        if available <= 0 {
            return Err(reject(
                codes::INSUFFICIENT_BALANCE,
                format!("{quote}: nothing available"),
            ));
        }
        Ok(want.min(available))
    }

    /// What the shown book, less what we took, offers a taker of `amount` on `side`.
    fn walk_effective(&mut self, m: MarketId, side: Side, amount: i64) -> crate::book::Walk {
        let opp = book_side(side).opposite();
        let taken = &self.markets[m.0 as usize].taken;
        self.books
            .get_mut(m)
            .walk_with(opp, amount, None, |price, shown| {
                taken.left(opp, price, shown)
            })
    }

    /// Takes liquidity for a new order: level by level at each level's price, up to its limit
    /// price; a market buy also stops where its lock no longer pays for a whole unit, after
    /// clipping the last fill to what the lock pays for (Peatio's `volume_limit`).
    fn take(&mut self, now: i64, id: OrderId) {
        let o = &self.orders[&id];
        let (m, side, limit, mut want) = (o.market, o.side, o.price, o.remaining);
        let mut funds = (o.ord_type == OrdType::Market && side == Side::Buy).then_some(o.locked);
        let cost = self.buy_cost(m);
        let opp = book_side(side).opposite();
        let book = self.books.get_mut(m);
        let takes = self.markets[m.0 as usize]
            .taken
            .sweep(book, opp, limit, |price, left| {
                let mut t = left.min(want);
                if let Some(f) = funds.as_mut() {
                    t = t.min(cost.max_amount(price, *f));
                    *f -= cost.of(price, t);
                }
                want -= t;
                t
            });
        for (price, amount) in takes {
            self.fill(now, id, price, amount, false);
        }
    }

    /// Books a fill of `amount` at `price` for order `id`. Like Peatio's `Order#strike`, the
    /// order's lock falls by what the fill spent; what a limit buy saved by price improvement
    /// stays locked until the order is done or cancelled.
    fn fill(&mut self, now: i64, id: OrderId, price: i64, amount: i64, maker: bool) {
        let o = &self.orders[&id];
        let (m, side, held) = (o.market, o.side, o.locked);
        let rules = &self.rules[m.0 as usize];
        let (pp, ap) = (rules.price_precision, rules.amount_precision);
        let (base, quote, market) = (
            rules.base_unit.clone(),
            rules.quote_unit.clone(),
            rules.id.clone(),
        );
        let total = i128::from(price) * i128::from(amount);
        let total16 = self.scale_total(m, total);
        let amount16 = self.scale_amount(m, amount);
        let ms = &mut self.markets[m.0 as usize];
        while ms
            .volume
            .front()
            .is_some_and(|(t, _)| *t < now - THIRTY_DAYS_NS)
        {
            let (_, v) = ms.volume.pop_front().expect("checked above");
            ms.volume_sum -= v;
        }
        let rates = self.fees.rates(&market, ms.volume_sum);
        ms.volume.push_back((now, total16));
        ms.volume_sum += total16;
        let rate = if maker { rates.maker } else { rates.taker };
        let quote_mode = self.fees.mode == FeeMode::Quote;
        let (mut fee, fee_currency) = match (side, quote_mode) {
            (Side::Buy, false) => (fee_of(amount16, rate), base.clone()),
            _ => (fee_of(total16, rate), quote.clone()),
        };
        let spent = match side {
            Side::Buy => {
                if quote_mode {
                    // Per-fill rounding of the fee can pass the lock by a few 10⁻¹⁶: lock the
                    // difference too, or charge no more than the account holds.
                    let short = total16 + fee - held;
                    if short > 0 {
                        let add = short.min(self.accounts.available_units(&quote));
                        if add > 0 {
                            self.accounts
                                .lock(&quote, add)
                                .expect("no more than available");
                            self.orders.get_mut(&id).expect("order exists").locked += add;
                        }
                        fee -= short - add;
                    }
                }
                self.accounts.pay_locked(&quote, total16);
                if quote_mode {
                    self.accounts.pay_fee_locked(&quote, fee);
                    self.accounts.receive(&base, amount16, 0);
                    total16 + fee
                } else {
                    self.accounts.receive(&base, amount16, fee);
                    total16
                }
            }
            Side::Sell => {
                self.accounts.pay_locked(&base, amount16);
                self.accounts.receive(&quote, total16, fee);
                amount16
            }
        };
        let trade_id = self.next_trade;
        self.next_trade += 1;
        let o = self.orders.get_mut(&id).expect("order exists");
        o.remaining -= amount;
        o.cost += total;
        o.trades_count += 1;
        o.updated_ns = now;
        o.locked -= spent;
        let fill = Fill {
            trade_id,
            order_id: id,
            market: m,
            side,
            price: Price::new(price, pp),
            amount: Amount::new(amount, ap),
            total: Funds::new(total, pp + ap),
            maker,
            fee_rate: Rate::from_millionths(rate),
            fee: Funds::new(fee, BALANCE_SCALE),
            fee_currency,
            at_ns: now,
        };
        self.emit(now, SimEvent::Fill(fill));
        if self.orders[&id].remaining == 0 {
            self.close(now, id);
        } else {
            self.emit_order(now, id);
        }
    }

    /// Ends an order: `done` when filled, else `cancel`; unlocks what it still holds.
    fn close(&mut self, now: i64, id: OrderId) {
        let o = self.orders.get_mut(&id).expect("order exists");
        o.state = if o.remaining == 0 {
            OrderState::Done
        } else {
            OrderState::Cancel
        };
        o.updated_ns = now;
        let (m, side, held) = (o.market, o.side, o.locked);
        o.locked = 0;
        let r = &self.rules[m.0 as usize];
        let currency = match side {
            Side::Buy => r.quote_unit.clone(),
            Side::Sell => r.base_unit.clone(),
        };
        if held > 0 {
            self.accounts.unlock(&currency, held);
        }
        self.markets[m.0 as usize].resting.remove(id);
        self.emit_order(now, id);
    }

    /// Puts a limit order's remainder in the book, behind the volume shown at its price and
    /// behind our own older orders there.
    fn rest(&mut self, id: OrderId) {
        let (m, side, price) = {
            let o = &self.orders[&id];
            (
                o.market,
                o.side,
                o.price.expect("limit orders have a price"),
            )
        };
        let shown = self.books.get_mut(m).level(book_side(side), price);
        let own: i64 = self.markets[m.0 as usize]
            .resting
            .iter()
            .filter(|r| r.side == side && r.price == price)
            .map(|r| self.orders[&r.id].remaining)
            .sum();
        self.orders.get_mut(&id).expect("order exists").queue_ahead = shown + own;
        self.markets[m.0 as usize]
            .resting
            .push(Resting { id, side, price });
    }

    /// A cancel reaches the exchange at `now`.
    pub fn cancel(&mut self, now: i64, id: OrderId) {
        match self.orders.get(&id) {
            Some(o) if o.state.is_open() => self.close(now, id),
            Some(_) => self.emit(
                now,
                SimEvent::CancelFailed {
                    order_id: id,
                    reject: reject(codes::CANCEL_ERROR, format!("order {id} is not open")),
                },
            ),
            // Finished long ago: the table remembers only that it existed.
            None if self.orders.existed(id) => self.emit(
                now,
                SimEvent::CancelFailed {
                    order_id: id,
                    reject: reject(codes::CANCEL_ERROR, format!("order {id} is not open")),
                },
            ),
            None => self.emit(
                now,
                SimEvent::CancelFailed {
                    order_id: id,
                    reject: reject(codes::INVALID_ID, format!("no order {id}")),
                },
            ),
        }
    }
}
