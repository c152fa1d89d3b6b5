//! The paper exchange's core, free of I/O: one [`Sim`] per API key, every one fed the same
//! market events. Frames, requests and clock ticks come in as journal records, so a live
//! session and its replay make the very same calls in the very same order.

use super::error::PaperError;
use super::order::new_order;
use super::view::{Known, View};
use crate::scenario::ExchangeConfig;
use crate::sim::{OrderId, Sim, SimEvent};
use crate::tape::reader::{Body, Record};
use crate::tape::OffRules;
use crate::tape::{Event, NormError, Normalizer, Session};
use crate::venue::rest::{codes, ErrorBody, OrderRequest};
use crate::venue::{MarketRules, Side};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One API key's paper account: its key (never its secret) and what it starts with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountSpec {
    pub key: String,
    pub balances: BTreeMap<String, Decimal>,
}

/// What the engine says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The answer to the request that carried `token`: an HTTP status and a JSON body.
    Reply {
        token: u64,
        status: u16,
        body: String,
    },
    /// A frame of a private stream (`order`, `trade`, `balance`) for one account, arriving at
    /// local time `at`.
    Private {
        at: i64,
        account: usize,
        stream: &'static str,
        frame: String,
    },
}

/// One account: its exchange and latencies, and what its client has been told.
struct Account {
    spec: AccountSpec,
    sim: Sim,
    view: View,
    /// Place requests waiting for the exchange's first answer: order id → reply token.
    waiting: BTreeMap<OrderId, u64>,
}

/// The paper exchange.
pub struct Engine {
    norm: Normalizer,
    accounts: Vec<Account>,
    events: Vec<Event>,
    answers: Vec<(i64, SimEvent)>,
    out: Vec<Output>,
    now: i64,
    malformed: u64,
    stopped: bool,
    /// The next order and trade ids a client sees, shared by every account.
    next_order: u64,
    next_trade: u64,
}

fn error_body(code: &str) -> String {
    serde_json::to_string(&ErrorBody {
        errors: vec![code.to_string()],
    })
    .expect("error body serializes")
}

impl Engine {
    /// An engine for `rules` (in the order the journal's markets are numbered), one account
    /// per spec.
    pub fn new(
        rules: Vec<MarketRules>,
        cfg: &ExchangeConfig,
        accounts: &[AccountSpec],
    ) -> Result<Engine, PaperError> {
        let mut accs = Vec::with_capacity(accounts.len());
        for spec in accounts {
            let sim = Sim::build(rules.clone(), cfg, &spec.balances).map_err(|source| {
                PaperError::Account {
                    key: spec.key.clone(),
                    source,
                }
            })?;
            let view = View::new(&sim, &rules);
            accs.push(Account {
                spec: spec.clone(),
                sim,
                view,
                waiting: BTreeMap::new(),
            });
        }
        Ok(Engine {
            norm: Normalizer::new(rules),
            accounts: accs,
            events: Vec::new(),
            answers: Vec::new(),
            out: Vec::new(),
            now: i64::MIN,
            malformed: 0,
            stopped: false,
            next_order: 1,
            next_trade: 1,
        })
    }

    pub fn markets(&self) -> &[MarketRules] {
        self.norm.markets()
    }

    pub fn account_index(&self, key: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.spec.key == key)
    }

    pub fn account_key(&self, account: usize) -> &str {
        &self.accounts[account].spec.key
    }

    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// What account `account`'s client has been told.
    pub fn view(&self, account: usize) -> &View {
        &self.accounts[account].view
    }

    /// Whether the exchange's book of market `m` is whole (a snapshot since the last gap);
    /// `None` without accounts.
    pub fn synced(&self, m: usize) -> Option<bool> {
        let books = self.accounts.first()?.sim.exchange().books();
        Some(
            books
                .get(crate::tape::MarketId(m as u16))
                .is_some_and(|b| b.is_valid()),
        )
    }

    /// Volume ahead of an account's resting order in its level's queue, as the queue model
    /// estimates it.
    pub fn queue_ahead(&self, account: usize, inner: OrderId) -> Option<crate::value::Amount> {
        let o = self.accounts[account].sim.exchange().order(inner)?;
        o.price().is_some().then(|| o.queue_ahead())
    }

    /// The local clock: the time of the last record applied.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Frames that could not be read.
    pub fn malformed_frames(&self) -> u64 {
        self.malformed
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The local time at which something in flight next happens, for a clock tick.
    pub fn next_due(&self) -> Option<i64> {
        self.accounts.iter().filter_map(|a| a.sim.next_due()).min()
    }

    /// Applies one journal record; `token` marks a request whose answer is awaited. Returns
    /// the market events a frame held (for the public streams). A frame that cannot be read
    /// is counted and skipped; a frame of a market without rules is an error.
    pub fn apply(&mut self, rec: &Record<'_>, token: Option<u64>) -> Result<&[Event], OffRules> {
        self.events.clear();
        if self.stopped {
            return Ok(&self.events);
        }
        let t = rec.recv_ns.max(self.now);
        self.now = t;
        match &rec.body {
            Body::Session(
                s @ (Session::Place { .. }
                | Session::Cancel { .. }
                | Session::CancelAll { .. }
                | Session::Tick {}
                | Session::Stop {}),
            ) => self.session(t, s, token),
            // Frames and the feed's own session records are the market's.
            _ => {
                match self.norm.push(rec, &mut self.events) {
                    Ok(_) => {}
                    Err(NormError::Malformed(_)) => self.malformed += 1,
                    Err(NormError::Rules(e)) => return Err(e),
                }
                for a in &mut self.accounts {
                    for ev in &self.events {
                        a.sim.on_event(ev);
                    }
                }
            }
        }
        self.deliver();
        Ok(&self.events)
    }

    fn session(&mut self, t: i64, s: &Session, token: Option<u64>) {
        match s {
            Session::Place { key, order } => self.place(t, key, order, token),
            Session::Cancel { key, id } => self.cancel(t, key, *id, token),
            Session::CancelAll { key, market, side } => {
                self.cancel_all(t, key, market.as_deref(), *side, token)
            }
            Session::Tick {} => {
                for a in &mut self.accounts {
                    a.sim.advance(t);
                }
            }
            Session::Stop {} => {
                // Everything in flight is delivered, as if time ran on.
                self.stopped = true;
                for i in 0..self.accounts.len() {
                    let mut answers = std::mem::take(&mut self.answers);
                    self.accounts[i].sim.advance(t);
                    self.accounts[i].sim.finish(&mut answers);
                    self.route(i, &mut answers);
                    self.answers = answers;
                }
            }
            _ => {}
        }
    }

    fn reply(&mut self, token: Option<u64>, status: u16, body: String) {
        if let Some(token) = token {
            self.out.push(Output::Reply {
                token,
                status,
                body,
            });
        }
    }

    fn place(&mut self, t: i64, key: &str, req: &OrderRequest, token: Option<u64>) {
        let Some(i) = self.account_index(key) else {
            return self.reply(token, 401, error_body("authz.unexistent_apikey"));
        };
        let order = match new_order(req, self.norm.markets()) {
            Ok(o) => o,
            Err(code) => return self.reply(token, 422, error_body(code)),
        };
        let id = self.next_order;
        self.next_order += 1;
        let a = &mut self.accounts[i];
        a.sim.advance(t);
        let inner = a.sim.place(order);
        a.view.placed(inner, id, t, req);
        if let Some(token) = token {
            a.waiting.insert(inner, token);
        }
        // With no entry latency the order is on the exchange at once.
        a.sim.advance(t);
    }

    fn cancel(&mut self, t: i64, key: &str, id: u64, token: Option<u64>) {
        let Some(i) = self.account_index(key) else {
            return self.reply(token, 401, error_body("authz.unexistent_apikey"));
        };
        let a = &mut self.accounts[i];
        a.sim.advance(t);
        let (status, body) = match a.view.get(id) {
            None => (404, error_body(codes::NOT_FOUND)),
            Some(k) => {
                let open = k.is_open();
                let body = serde_json::to_string(&a.view.rest_order(k)).expect("serializes");
                if open {
                    a.sim.cancel(k.inner);
                }
                (201, body)
            }
        };
        a.sim.advance(t);
        self.reply(token, status, body);
    }

    fn cancel_all(
        &mut self,
        t: i64,
        key: &str,
        market: Option<&str>,
        side: Option<Side>,
        token: Option<u64>,
    ) {
        let Some(i) = self.account_index(key) else {
            return self.reply(token, 401, error_body("authz.unexistent_apikey"));
        };
        let a = &mut self.accounts[i];
        a.sim.advance(t);
        let chosen: Vec<&Known> = a
            .view
            .open_orders()
            .filter(|k| market.is_none_or(|m| k.market() == m))
            .filter(|k| side.is_none_or(|s| k.side() == s))
            .collect();
        let ids: Vec<OrderId> = chosen.iter().map(|k| k.inner).collect();
        let list: Vec<_> = chosen.iter().map(|k| a.view.rest_order(k)).collect();
        let body = serde_json::to_string(&list).expect("serializes");
        for id in ids {
            a.sim.cancel(id);
        }
        a.sim.advance(t);
        self.reply(token, 201, body);
    }

    /// Hands every answer due by now to the views, the waiting requests and the streams.
    fn deliver(&mut self) {
        for i in 0..self.accounts.len() {
            let mut answers = std::mem::take(&mut self.answers);
            self.accounts[i].sim.poll(&mut answers);
            self.route(i, &mut answers);
            self.answers = answers;
        }
    }

    fn route(&mut self, i: usize, answers: &mut Vec<(i64, SimEvent)>) {
        for (at, ev) in answers.drain(..) {
            let a = &mut self.accounts[i];
            let id = match &ev {
                SimEvent::Order(o) => Some(o.id),
                SimEvent::Rejected { order_id, .. } => Some(*order_id),
                _ => None,
            };
            let frames = a.view.answer(&ev, &mut self.next_trade);
            if let Some(token) = id.and_then(|id| a.waiting.remove(&id)) {
                let known = id.and_then(|i| a.view.outer(i)).and_then(|o| a.view.get(o));
                let (status, body) = match (&ev, known) {
                    (SimEvent::Rejected { reject, .. }, _) => (422, error_body(reject.code)),
                    (_, Some(k)) => (
                        201,
                        serde_json::to_string(&a.view.rest_order(k)).expect("ok"),
                    ),
                    (_, None) => (500, error_body("server.internal_error")),
                };
                self.out.push(Output::Reply {
                    token,
                    status,
                    body,
                });
            }
            for (stream, frame) in frames {
                self.out.push(Output::Private {
                    at,
                    account: i,
                    stream,
                    frame,
                });
            }
        }
    }

    /// Takes what the engine said since the last call.
    pub fn drain(&mut self, into: &mut Vec<Output>) {
        into.append(&mut self.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn frame(t: i64, text: &'static str) -> Record<'static> {
        Record {
            recv_ns: t,
            body: Body::Frame(Cow::Borrowed(text)),
        }
    }

    fn session(t: i64, s: Session) -> Record<'static> {
        Record {
            recv_ns: t,
            body: Body::Session(s),
        }
    }

    fn limit(side: Side, volume: &str, price: &str) -> Session {
        Session::Place {
            key: "k".into(),
            order: OrderRequest {
                market: "btcusdt".into(),
                side,
                ord_type: "limit".into(),
                volume: volume.into(),
                price: Some(price.into()),
                client_id: None,
            },
        }
    }

    #[test]
    fn the_open_orders_are_those_not_yet_ended() {
        let rules = crate::venue::market::load_markets(std::path::Path::new("data/markets.json"))
            .expect("the shipped markets");
        let spec = AccountSpec {
            key: "k".into(),
            balances: [("usdt".to_string(), Decimal::from(1000))].into(),
        };
        let mut e = Engine::new(rules, &ExchangeConfig::default(), &[spec]).expect("an engine");
        let records = [
            frame(
                1,
                r#"{"btcusdt.ob-snap":{"asks":[["102.00","5"]],"bids":[["100.00","5"]],"sequence":1}}"#,
            ),
            // Rests; rests; refused for want of funds; rests then is cancelled.
            session(2, limit(Side::Buy, "1", "101.00")),
            session(3, limit(Side::Buy, "1", "99.00")),
            session(4, limit(Side::Buy, "100", "99.00")),
            session(5, limit(Side::Buy, "1", "98.00")),
            session(
                6,
                Session::Cancel {
                    key: "k".into(),
                    id: 4,
                },
            ),
            // A trade through 101.00 fills the first order.
            frame(
                7,
                r#"{"btcusdt.trades":{"trades":[{"tid":1,"taker_type":"sell","date":1,"price":"101.00","amount":"2"}]}}"#,
            ),
        ];
        for r in &records {
            e.apply(r, None).expect("applies");
        }
        let v = e.view(0);
        let open: Vec<u64> = v.open_orders().map(|k| k.id).collect();
        let scanned: Vec<u64> = v.orders().filter(|k| k.is_open()).map(|k| k.id).collect();
        assert_eq!(open, scanned);
        assert_eq!(
            open,
            [2],
            "{:?}",
            v.orders().map(|k| (k.id, k.state())).collect::<Vec<_>>()
        );
    }
}
