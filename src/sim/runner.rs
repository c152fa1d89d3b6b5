//! The simulator as a strategy meets it: requests travel to the exchange and answers travel
//! back through latency models, while market events reach the exchange a feed latency before
//! they reach us.
//!
//! One clock runs through it all: the local receive clock. A market event received at `r`
//! happened on the exchange at `r − feed`; a request sent at `t` reaches the exchange at
//! `t + entry`; an answer the exchange gives at `x` reaches us at `x + response`, but never
//! before the answer given ahead of it: one connection delivers in order.
//!
//! The strategy sees its balances as the answers tell them (the private `balance` stream), not
//! the exchange's books: a fill shows in the local balance when its answer arrives.

use super::accounts::Balance;
use super::exchange::{Applied, Exchange};
use super::latency::{Latencies, Rng};
use super::order::{NewOrder, OrderId, SimEvent};
use crate::tape::Event;
use std::collections::{BTreeMap, VecDeque};

enum Request {
    Place(OrderId, NewOrder),
    Cancel(OrderId),
}

/// The exchange plus the two latency queues between it and the strategy.
pub struct Sim {
    exchange: Exchange,
    latencies: Latencies,
    rng: Rng,
    /// Requests in flight, by (arrival on the exchange clock, send order).
    to_exchange: BTreeMap<(i64, u64), Request>,
    /// Answers in flight with their arrival on the local clock, in production order: no
    /// answer arrives before the one produced ahead of it, so this is also arrival order.
    to_local: VecDeque<(i64, SimEvent)>,
    seq: u64,
    now: i64,
    /// Local arrival time of the last answer sent: the next one arrives no earlier.
    last_answer: i64,
    /// Balances as the answers received so far tell them.
    balances: BTreeMap<String, Balance>,
    scratch: Vec<(i64, SimEvent)>,
}

impl Sim {
    /// The client starts out knowing the balances deposited on `exchange`.
    pub fn new(exchange: Exchange, latencies: Latencies, seed: u64) -> Self {
        let balances = exchange
            .accounts()
            .iter()
            .map(|(c, b)| (c.to_string(), b))
            .collect();
        Sim {
            exchange,
            latencies,
            rng: Rng::new(seed),
            to_exchange: BTreeMap::new(),
            to_local: VecDeque::new(),
            seq: 0,
            now: i64::MIN,
            last_answer: i64::MIN,
            balances,
            scratch: Vec::new(),
        }
    }

    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    pub fn exchange_mut(&mut self) -> &mut Exchange {
        &mut self.exchange
    }

    /// A currency's balance as the answers received so far tell it.
    pub fn balance(&self, currency: &str) -> Balance {
        self.balances.get(currency).copied().unwrap_or_default()
    }

    /// The local clock: the receive time of the last event handled.
    pub fn now(&self) -> i64 {
        self.now
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Sends an order now; its id is known at once, its answer comes later.
    pub fn place(&mut self, order: NewOrder) -> OrderId {
        let id = self.exchange.reserve_id();
        let at = self.now + self.latencies.entry.sample(&mut self.rng);
        let seq = self.next_seq();
        self.to_exchange
            .insert((at, seq), Request::Place(id, order));
        id
    }

    /// Sends a cancel now.
    pub fn cancel(&mut self, id: OrderId) {
        let at = self.now + self.latencies.entry.sample(&mut self.rng);
        let seq = self.next_seq();
        self.to_exchange.insert((at, seq), Request::Cancel(id));
    }

    /// Runs the exchange up to exchange time `t`: requests that arrived before it.
    fn run_exchange_until(&mut self, t: i64) {
        while let Some(entry) = self.to_exchange.first_entry() {
            let (at, _) = *entry.key();
            if at > t {
                break;
            }
            match entry.remove() {
                Request::Place(id, order) => self.exchange.submit(at, id, &order),
                Request::Cancel(id) => self.exchange.cancel(at, id),
            }
            self.route_answers();
        }
    }

    #[inline]
    fn route_answers(&mut self) {
        if self.exchange.has_output() {
            self.route_produced();
        }
    }

    fn route_produced(&mut self) {
        let mut produced = std::mem::take(&mut self.scratch);
        self.exchange.drain(&mut produced);
        for (at, ev) in produced.drain(..) {
            let local = (at + self.latencies.response.sample(&mut self.rng))
                .max(self.now)
                .max(self.last_answer);
            self.last_answer = local;
            self.to_local.push_back((local, ev));
        }
        self.scratch = produced;
    }

    /// A market event arrives (at its receive time): the exchange acts on it at its own time,
    /// and the local clock moves to it.
    pub fn on_event(&mut self, ev: &Event) {
        self.on_instant(std::slice::from_ref(ev));
    }

    /// The market events received at one instant (all with one receive time), in order, as
    /// [`on_event`](Self::on_event) would take each. No request is sent between them, so the
    /// requests due by their exchange time are acted on once, before the first.
    pub fn on_instant(&mut self, evs: &[Event]) {
        let Some(first) = evs.first() else { return };
        let t = self.begin_instant(first.recv_ns);
        for ev in evs {
            assert_eq!(ev.recv_ns, first.recv_ns, "one receive time an instant");
            self.exchange.on_event(t, ev);
            self.end_event(ev.recv_ns);
        }
    }

    /// Starts an instant received at `recv`: the requests that reached the exchange before its
    /// exchange time are acted on. Returns that time.
    fn begin_instant(&mut self, recv: i64) -> i64 {
        let t = recv - self.latencies.feed_ns;
        self.run_exchange_until(t);
        t
    }

    fn end_event(&mut self, recv: i64) {
        self.route_answers();
        self.now = self.now.max(recv);
    }

    /// For sims that share one book, an instant received at `recv` is
    /// [`begin_shared`](Self::begin_shared), then [`on_shared`](Self::on_shared) for each of
    /// its events once the shared `books` hold it: together, as
    /// [`on_instant`](Self::on_instant) for a sim with a book of its own. The exchange
    /// borrows `books` only when it has something to do. True when requests were due.
    pub fn begin_shared(&mut self, recv: i64, books: &mut crate::book::Books) -> bool {
        let t = recv - self.latencies.feed_ns;
        let due = self
            .to_exchange
            .first_key_value()
            .is_some_and(|(k, _)| k.0 <= t);
        if due {
            self.exchange.swap_books(books);
            self.begin_instant(recv);
            self.exchange.swap_books(books);
        }
        due
    }

    /// An event of the instant begun, with what applying it to the shared `books` showed
    /// (`None`: the exchange ignores it). True when the exchange acted on it.
    #[inline]
    pub fn on_shared(
        &mut self,
        ev: &Event,
        applied: Option<Applied>,
        books: &mut crate::book::Books,
    ) -> bool {
        let acted = match applied.filter(|a| self.exchange.concerned(ev, *a)) {
            Some(a) => {
                self.exchange.swap_books(books);
                self.exchange
                    .on_applied(ev.recv_ns - self.latencies.feed_ns, ev, a);
                self.exchange.swap_books(books);
                true
            }
            None => false,
        };
        self.end_event(ev.recv_ns);
        acted
    }

    /// An event of the instant begun that cannot concern the exchange (its
    /// [`Watch`](super::exchange::Watch) passed over it): only the clock moves.
    #[inline]
    pub fn pass(&mut self, recv: i64) {
        self.now = self.now.max(recv);
    }

    /// Lends this sim's exchange `books` in place of its own (swapped back by a second call).
    pub fn swap_books(&mut self, books: &mut crate::book::Books) {
        self.exchange.swap_books(books);
    }

    /// Moves the local clock to `t` with no market event: requests that reached the exchange
    /// by then are acted on, and answers due by `t` can be polled.
    pub fn advance(&mut self, t: i64) {
        self.run_exchange_until(t - self.latencies.feed_ns);
        self.route_answers();
        self.now = self.now.max(t);
    }

    /// The local time at which something in flight next happens: a request acted on or an
    /// answer arriving.
    pub fn next_due(&self) -> Option<i64> {
        let req = self
            .to_exchange
            .first_key_value()
            .map(|(k, _)| k.0.saturating_add(self.latencies.feed_ns));
        let ans = self.to_local.front().map(|a| a.0);
        match (req, ans) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Answers that have reached the strategy by the local clock, oldest first.
    #[inline(always)]
    pub fn poll(&mut self, out: &mut Vec<(i64, SimEvent)>) {
        // Most instants have none: the check is inlined, the taking apart.
        if self.to_local.front().is_some_and(|a| a.0 <= self.now) {
            self.take_due(out);
        }
    }

    fn take_due(&mut self, out: &mut Vec<(i64, SimEvent)>) {
        while self.to_local.front().is_some_and(|a| a.0 <= self.now) {
            let Some((at, ev)) = self.to_local.pop_front() else {
                break;
            };
            if let SimEvent::Balance { currency, balance } = &ev {
                match self.balances.get_mut(currency.as_str()) {
                    Some(b) => *b = *balance,
                    None => {
                        self.balances.insert(currency.clone(), *balance);
                    }
                }
            }
            out.push((at, ev));
        }
    }

    /// Ends the run: everything in flight is delivered, as if time ran on.
    pub fn finish(&mut self, out: &mut Vec<(i64, SimEvent)>) {
        self.run_exchange_until(i64::MAX);
        self.now = self.to_local.back().map_or(self.now, |a| a.0.max(self.now));
        self.poll(out);
    }
}
