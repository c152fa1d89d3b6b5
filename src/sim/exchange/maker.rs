//! The exchange's side of market data: the book follows the feed, and our resting orders
//! move up their queues and fill on trades at or through their price and on a crossing book.

use super::{book_side, Exchange};
use crate::tape::{BookSide, Event, EventKind, MarketId};
use crate::venue::Side;

impl Exchange {
    /// A market event reaches the exchange at `now` (its receive time less the feed latency).
    /// Events of a market the exchange was not built with (a later capture's header can add
    /// one) are ignored.
    pub fn on_event(&mut self, now: i64, ev: &Event) {
        if ev.market != MarketId::ALL && ev.market.0 as usize >= self.rules.len() {
            return;
        }
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                let book = self.books.get_mut(ev.market);
                let prev = book.level(side, price);
                book.apply(ev);
                let ms = &mut self.markets[ev.market.0 as usize];
                ms.consumed.remove(&(side, price));
                if !ms.resting.is_empty() {
                    self.requeue(ev.market, side, price, prev, amount);
                    self.cross(now, ev.market);
                }
            }
            EventKind::SnapshotStart { .. } | EventKind::SnapshotLevel { .. } => {
                self.books.apply(ev);
                self.markets[ev.market.0 as usize].consumed.clear();
            }
            EventKind::SnapshotEnd => {
                self.books.apply(ev);
                let m = ev.market;
                for id in self.markets[m.0 as usize].resting.clone() {
                    let o = &self.orders[&id];
                    let shown = self
                        .books
                        .get_mut(m)
                        .level(book_side(o.side), o.price.unwrap_or(0));
                    let o = self.orders.get_mut(&id).expect("resting orders exist");
                    o.queue_ahead = o.queue_ahead.min(shown);
                    o.traded_since_update = 0;
                }
                self.cross(now, m);
            }
            EventKind::Trade {
                taker,
                price,
                amount,
                ..
            } => {
                self.books.apply(ev);
                if self.books.get_mut(ev.market).is_valid() {
                    self.on_trade(now, ev.market, taker, price, amount);
                }
            }
            EventKind::Gap { .. }
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Connect => self.books.apply(ev),
        }
    }

    /// Moves the queue of our orders at a level whose shown volume went from `prev` to `new`.
    fn requeue(&mut self, m: MarketId, side: BookSide, price: i64, prev: i64, new: i64) {
        let queue = self.queue;
        // Our own older orders at the level stand ahead too, outside the shown volume.
        let mut own_ahead = 0;
        for id in &self.markets[m.0 as usize].resting {
            let o = self.orders.get_mut(id).expect("resting orders exist");
            if book_side(o.side) != side || o.price != Some(price) {
                continue;
            }
            // The part of the fall that trades already explained moved the queue already.
            let explained = o.traded_since_update.min((prev - new).max(0));
            o.traded_since_update = 0;
            let front = (o.queue_ahead - own_ahead).max(0);
            o.queue_ahead = queue.on_level_change(front, prev - explained, new) + own_ahead;
            own_ahead += o.remaining;
        }
    }

    /// Fills resting orders that a public trade reached.
    fn on_trade(&mut self, now: i64, m: MarketId, taker: Side, price: i64, amount: i64) {
        let mut fills = Vec::new();
        for id in &self.markets[m.0 as usize].resting {
            let o = self.orders.get_mut(id).expect("resting orders exist");
            let p = o.price.expect("resting orders have a price");
            let through = match o.side {
                Side::Buy => price < p,
                Side::Sell => price > p,
            };
            if through {
                fills.push((*id, p, o.remaining));
            } else if price == p && taker != o.side {
                let fill = (amount - o.queue_ahead).clamp(0, o.remaining);
                o.queue_ahead = (o.queue_ahead - amount).max(0);
                o.traded_since_update += amount;
                if fill > 0 {
                    fills.push((*id, p, fill));
                }
            }
        }
        for (id, p, amount) in fills {
            self.fill(now, id, p, amount, true);
        }
    }

    /// Fills resting orders that the opposite best price (less what we took) has reached.
    fn cross(&mut self, now: i64, m: MarketId) {
        let book = self.books.get_mut(m);
        if !book.is_valid() {
            return;
        }
        let consumed = &self.markets[m.0 as usize].consumed;
        let effective_best = |side: BookSide| {
            if consumed.is_empty() {
                return book.best(side).map(|l| l.price);
            }
            book.levels(side).find_map(|l| {
                let left = l.amount - consumed.get(&(side, l.price)).copied().unwrap_or(0);
                (left > 0).then_some(l.price)
            })
        };
        let (ask, bid) = (effective_best(BookSide::Ask), effective_best(BookSide::Bid));
        let mut fills = Vec::new();
        for id in &self.markets[m.0 as usize].resting {
            let o = &self.orders[id];
            let p = o.price.expect("resting orders have a price");
            let crossed = match o.side {
                Side::Buy => ask.is_some_and(|a| a <= p),
                Side::Sell => bid.is_some_and(|b| b >= p),
            };
            if crossed {
                fills.push((*id, p, o.remaining));
            }
        }
        for (id, p, amount) in fills {
            self.fill(now, id, p, amount, true);
        }
    }
}
