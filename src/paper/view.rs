//! One account as its client knows it: orders, trades and balances as the exchange's answers
//! told them, in the shapes of Peatio's REST and ranger's private streams.

use crate::sim::{Balance, Fill, Order, OrderId, Sim, SimEvent};
use crate::venue::rest::{OrderRequest, RestBalance, RestOrder};
use crate::venue::{BalanceUpdate, MarketRules, OrderUpdate, Side, TradeUpdate};
use std::collections::{BTreeMap, BTreeSet};

/// An order the client sent.
#[derive(Debug, Clone)]
pub struct Known {
    /// The id the client sees: unique across every account of the session.
    pub id: u64,
    /// The id on the account's own exchange.
    pub inner: OrderId,
    req: OrderRequest,
    created_ns: i64,
    /// Its state as last answered; `None` until the exchange answers.
    order: Option<Order>,
    /// Refused at entry.
    rejected: bool,
}

impl Known {
    /// Open, or not yet answered.
    pub fn is_open(&self) -> bool {
        match &self.order {
            Some(o) => o.state.is_open(),
            None => !self.rejected,
        }
    }

    pub fn market(&self) -> &str {
        &self.req.market
    }

    pub fn side(&self) -> Side {
        self.req.side
    }

    pub fn state(&self) -> &'static str {
        match (&self.order, self.rejected) {
            (Some(o), _) => o.state.as_str(),
            (None, true) => "reject",
            (None, false) => "pending",
        }
    }
}

/// What one account's client has been told.
pub struct View {
    rules: Vec<MarketRules>,
    /// By the client's id.
    orders: BTreeMap<u64, Known>,
    /// The client's ids of the orders still open (or not yet answered).
    open: BTreeSet<u64>,
    /// The exchange's ids to the client's.
    outer: BTreeMap<OrderId, u64>,
    /// With the client's order ids and the session's trade ids.
    fills: Vec<Fill>,
    balances: BTreeMap<String, Balance>,
}

fn uuid(id: u64) -> String {
    format!("00000000-0000-0000-0000-{id:012}")
}

impl View {
    /// Starts with the balances deposited on `sim`'s exchange and every market's currencies.
    pub fn new(sim: &Sim, rules: &[MarketRules]) -> View {
        let mut balances: BTreeMap<String, Balance> = sim
            .exchange()
            .accounts()
            .iter()
            .map(|(c, b)| (c.to_string(), b))
            .collect();
        for r in rules {
            for c in [&r.base_unit, &r.quote_unit] {
                balances.entry(c.clone()).or_default();
            }
        }
        View {
            rules: rules.to_vec(),
            orders: BTreeMap::new(),
            open: BTreeSet::new(),
            outer: BTreeMap::new(),
            fills: Vec::new(),
            balances,
        }
    }

    pub(super) fn placed(&mut self, inner: OrderId, id: u64, t: i64, req: &OrderRequest) {
        self.outer.insert(inner, id);
        self.open.insert(id);
        self.orders.insert(
            id,
            Known {
                id,
                inner,
                req: req.clone(),
                created_ns: t,
                order: None,
                rejected: false,
            },
        );
    }

    /// An order by the client's id.
    pub fn get(&self, id: u64) -> Option<&Known> {
        self.orders.get(&id)
    }

    /// The client's id of an order of the account's exchange.
    pub fn outer(&self, inner: OrderId) -> Option<u64> {
        self.outer.get(&inner).copied()
    }

    /// Every order sent, oldest first.
    pub fn orders(&self) -> impl DoubleEndedIterator<Item = &Known> {
        self.orders.values()
    }

    /// The orders still open (or not yet answered), oldest first: as many as rest, however
    /// many were sent.
    pub fn open_orders(&self) -> impl DoubleEndedIterator<Item = &Known> {
        self.open.iter().filter_map(|id| self.orders.get(id))
    }

    /// Every fill, oldest first.
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    fn rules_of(&self, market: &str) -> Option<&MarketRules> {
        self.rules.iter().find(|r| r.id == market)
    }

    /// Takes in one answer; returns the private frames it makes, with their streams. Trade
    /// ids come from `next_trade`, shared by every account of the session.
    pub(super) fn answer(
        &mut self,
        ev: &SimEvent,
        next_trade: &mut u64,
    ) -> Vec<(&'static str, String)> {
        let mut frames = Vec::new();
        match ev {
            SimEvent::Order(o) => {
                let Some(id) = self.outer(o.id) else {
                    return frames;
                };
                if let Some(k) = self.orders.get_mut(&id) {
                    let mut o = o.clone();
                    o.id = id;
                    k.order = Some(o);
                    if !k.is_open() {
                        self.open.remove(&id);
                    }
                }
                if let Some(k) = self.orders.get(&id) {
                    frames.push(("order", self.order_frame(k)));
                }
            }
            SimEvent::Rejected { order_id, .. } => {
                let Some(id) = self.outer(*order_id) else {
                    return frames;
                };
                if let Some(k) = self.orders.get_mut(&id) {
                    k.rejected = true;
                    if !k.is_open() {
                        self.open.remove(&id);
                    }
                }
                if let Some(k) = self.orders.get(&id) {
                    frames.push(("order", self.order_frame(k)));
                }
            }
            SimEvent::Fill(f) => {
                let mut f = f.clone();
                f.order_id = self.outer(f.order_id).unwrap_or(f.order_id);
                f.trade_id = *next_trade;
                *next_trade += 1;
                let t = f.to_wire(&self.rules[f.market.0 as usize]);
                frames.push(("trade", serde_json::json!({ "trade": t }).to_string()));
                self.fills.push(f);
            }
            SimEvent::Balance { currency, balance } => {
                self.balances.insert(currency.clone(), *balance);
                let b = rest_balance(currency, balance);
                let u = BalanceUpdate {
                    currency: b.currency,
                    balance: b.balance,
                    locked: b.locked,
                };
                frames.push(("balance", serde_json::json!({ "balance": u }).to_string()));
            }
            SimEvent::CancelFailed { .. } => {}
        }
        frames
    }

    fn order_frame(&self, k: &Known) -> String {
        serde_json::json!({ "order": self.wire(k) }).to_string()
    }

    /// The private stream's order object.
    pub fn wire(&self, k: &Known) -> OrderUpdate {
        let secs = k.created_ns.div_euclid(1_000_000_000);
        match (&k.order, self.rules_of(&k.req.market)) {
            (Some(o), Some(r)) => o.to_wire(r),
            _ => OrderUpdate {
                id: k.id,
                market: k.req.market.clone(),
                kind: match k.req.side {
                    Side::Buy => "bid",
                    Side::Sell => "ask",
                }
                .into(),
                side: k.req.side,
                ord_type: k.req.ord_type.clone(),
                price: k.req.price.clone(),
                avg_price: "0.0".into(),
                state: k.state().into(),
                origin_volume: k.req.volume.clone(),
                remaining_volume: k.req.volume.clone(),
                executed_volume: "0.0".into(),
                at: secs,
                created_at: secs,
                updated_at: secs,
                trades_count: 0,
            },
        }
    }

    /// The REST order object, with the client's id.
    pub fn rest_order(&self, k: &Known) -> RestOrder {
        let w = self.wire(k);
        let iso = |s: i64| crate::utc::iso(s.saturating_mul(1_000_000_000));
        RestOrder {
            id: w.id,
            uuid: uuid(w.id),
            side: w.side,
            ord_type: w.ord_type,
            price: w.price,
            avg_price: w.avg_price,
            state: w.state,
            market: w.market,
            created_at: iso(w.created_at),
            updated_at: iso(w.updated_at),
            origin_volume: w.origin_volume,
            remaining_volume: w.remaining_volume,
            executed_volume: w.executed_volume,
            trades_count: w.trades_count,
            client_id: k.req.client_id.clone(),
            maker_fee: None,
            taker_fee: None,
        }
    }

    /// A fill as `GET market/trades` shows it.
    pub fn rest_trade(&self, f: &Fill) -> TradeUpdate {
        f.to_wire(&self.rules[f.market.0 as usize])
    }

    /// A currency's balance as the client was told it.
    pub fn balance(&self, currency: &str) -> Balance {
        self.balances.get(currency).copied().unwrap_or_default()
    }

    pub fn balances(&self) -> Vec<RestBalance> {
        self.balances
            .iter()
            .map(|(c, b)| rest_balance(c, b))
            .collect()
    }
}

fn rest_balance(currency: &str, b: &Balance) -> RestBalance {
    RestBalance {
        currency: currency.to_string(),
        balance: b.available.text(),
        locked: b.locked.text(),
    }
}

/// A read of one account's view.
#[derive(Debug, Clone)]
pub enum Read {
    Order(u64),
    Orders {
        market: Option<String>,
        state: Option<String>,
        limit: usize,
        page: usize,
        ascending: bool,
    },
    Trades {
        market: Option<String>,
        limit: usize,
        page: usize,
    },
    Balances,
}

/// A read of a view, as (status, JSON body).
pub fn answer(v: &View, read: Read) -> (u16, String) {
    let page = |n: usize, limit: usize, page: usize| ((page - 1).saturating_mul(limit)).min(n);
    match read {
        Read::Order(id) => match v.get(id) {
            Some(k) => (200, serde_json::to_string(&v.rest_order(k)).expect("ok")),
            None => (
                404,
                serde_json::json!({ "errors": [crate::venue::rest::codes::NOT_FOUND] }).to_string(),
            ),
        },
        Read::Orders {
            market,
            state,
            limit,
            page: p,
            ascending,
        } => {
            let chosen: Vec<_> = v
                .orders()
                .filter(|k| market.as_deref().is_none_or(|m| k.market() == m))
                .filter(|k| state.as_deref().is_none_or(|s| k.state() == s))
                .collect();
            let skip = page(chosen.len(), limit, p);
            let list: Vec<_> = if ascending {
                chosen
                    .iter()
                    .skip(skip)
                    .take(limit)
                    .map(|k| v.rest_order(k))
                    .collect()
            } else {
                chosen
                    .iter()
                    .rev()
                    .skip(skip)
                    .take(limit)
                    .map(|k| v.rest_order(k))
                    .collect()
            };
            (200, serde_json::to_string(&list).expect("ok"))
        }
        Read::Trades {
            market,
            limit,
            page: p,
        } => {
            let chosen: Vec<_> = v
                .fills()
                .iter()
                .filter(|f| {
                    market
                        .as_deref()
                        .is_none_or(|m| v.rest_trade(f).market == m)
                })
                .collect();
            let skip = page(chosen.len(), limit, p);
            let list: Vec<_> = chosen
                .iter()
                .rev()
                .skip(skip)
                .take(limit)
                .map(|f| v.rest_trade(f))
                .collect();
            (200, serde_json::to_string(&list).expect("ok"))
        }
        Read::Balances => (200, serde_json::to_string(&v.balances()).expect("ok")),
    }
}
