//! The exchange's side of market data: the book follows the feed, and our resting orders
//! move up their queues and fill on trades at or through their price and on a crossing book.
//! The rules, with their sources, are in `docs/fill-rules.md`.

use super::resting::Span;
use super::{book_side, Exchange};
use crate::book::Books;
use crate::sim::OrderId;
use crate::tape::{BookSide, Event, EventKind, MarketId};
use crate::venue::Side;

/// The side of the orders that rest on a book side.
fn order_side(side: BookSide) -> Side {
    match side {
        BookSide::Bid => Side::Buy,
        BookSide::Ask => Side::Sell,
    }
}

/// Whether a resting order on `side` at `ours` stands strictly ahead of `price` in price
/// priority (a higher bid, a lower ask).
fn better(side: Side, ours: i64, price: i64) -> bool {
    match side {
        Side::Buy => ours > price,
        Side::Sell => ours < price,
    }
}

/// What applying a market event to the book showed that the exchange's reaction to it needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Applied {
    /// A level update's volume at its price before it (0 when it was not read).
    prev: i64,
    /// Whether a level update crossed the opposite side and removed the levels it crossed.
    crossed: bool,
}

/// Applies `ev` to `books`; for a level update, reads the level's previous volume first when
/// `read_prev`. A tick changes no book.
#[inline(always)]
fn apply(books: &mut Books, ev: &Event, read_prev: bool) -> Applied {
    match ev.kind {
        EventKind::Level { side, price, .. } => {
            let book = books.get_mut(ev.market);
            let prev = if read_prev {
                book.level(side, price)
            } else {
                0
            };
            let crossings = book.crossings();
            book.apply(ev);
            Applied {
                prev,
                crossed: book.crossings() != crossings,
            }
        }
        EventKind::Tick => Applied::default(),
        _ => {
            books.apply(ev);
            Applied::default()
        }
    }
}

/// Where on one market's book events can concern an exchange's orders: the spans of its
/// resting orders and of the levels it took liquidity from. Kept beside many exchanges that
/// share one book, it passes over most events in a few comparisons of a [`Probe`]; an event
/// it lets through is checked exactly by [`Exchange::concerned`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watch {
    buys: Span,
    sells: Span,
    taken_bids: Span,
    taken_asks: Span,
    taken: bool,
}

/// What a watch tests an event by, read from the event once for every watch it is put to.
#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// The event concerns no exchange.
    Pass,
    /// The event may concern every exchange.
    All,
    /// A level update on `side` at `price`; `adds`: it shows volume; `crossed`: it crossed
    /// the opposite side.
    Level {
        side: BookSide,
        price: i64,
        adds: bool,
        crossed: bool,
    },
    /// A public trade at `price`.
    Trade { price: i64 },
}

impl Probe {
    /// The probe of `ev`, with what applying it to the book showed.
    pub fn of(ev: &Event, applied: Applied) -> Probe {
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => Probe::Level {
                side,
                price,
                adds: amount > 0,
                crossed: applied.crossed,
            },
            EventKind::Trade { price, .. } => Probe::Trade { price },
            EventKind::SnapshotStart { .. }
            | EventKind::SnapshotLevel { .. }
            | EventKind::SnapshotEnd => Probe::All,
            EventKind::Gap { .. }
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Connect
            | EventKind::Tick => Probe::Pass,
        }
    }
}

impl Watch {
    /// Whether a bid level update may concern the exchange: at a price of our buys or of
    /// liquidity we took there, or showing volume at or above our lowest sell.
    #[inline(always)]
    pub fn bid(&self, price: i64, adds: bool, crossed: bool) -> bool {
        self.taken_bids.contains(price)
            || self.buys.contains(price)
            || (crossed && self.taken)
            || (adds && self.sells.reaches_down(price))
    }

    /// As [`bid`](Self::bid) for an ask level update.
    #[inline(always)]
    pub fn ask(&self, price: i64, adds: bool, crossed: bool) -> bool {
        self.taken_asks.contains(price)
            || self.sells.contains(price)
            || (crossed && self.taken)
            || (adds && self.buys.reaches_up(price))
    }

    /// Whether a public trade at `price` may concern the exchange: at or through the price of
    /// one of our orders.
    #[inline(always)]
    pub fn trade(&self, price: i64) -> bool {
        self.buys.reaches_up(price) || self.sells.reaches_down(price)
    }
}

impl Exchange {
    /// Where events of market `m` can concern this exchange now (nothing of a market it was
    /// not built with). It changes only when the exchange acts.
    pub fn watch(&self, m: MarketId) -> Watch {
        let Some(ms) = self.markets.get(m.0 as usize) else {
            return Watch::default();
        };
        Watch {
            buys: *ms.resting.span(Side::Buy),
            sells: *ms.resting.span(Side::Sell),
            taken_bids: *ms.taken.span(BookSide::Bid),
            taken_asks: *ms.taken.span(BookSide::Ask),
            taken: !ms.taken.is_empty(),
        }
    }

    /// Whether the exchange ignores `ev`: events of a market it was not built with (a later
    /// capture's header can add one).
    #[inline(always)]
    fn ignores(markets: usize, ev: &Event) -> bool {
        ev.market != MarketId::ALL && ev.market.0 as usize >= markets
    }

    /// A market event reaches the exchange at `now` (its receive time less the feed latency):
    /// the book follows it, then our orders react.
    #[inline(always)]
    pub fn on_event(&mut self, now: i64, ev: &Event) {
        if Self::ignores(self.rules.len(), ev) {
            return;
        }
        // A level's previous volume matters only to our orders queued there; most updates are
        // far from them, and reading it would cost a cache miss.
        let read_prev = match ev.kind {
            EventKind::Level { side, price, .. } => self.markets[ev.market.0 as usize]
                .resting
                .at(order_side(side), price),
            _ => false,
        };
        let applied = apply(&mut self.books, ev, read_prev);
        self.on_applied(now, ev, applied);
    }

    /// Applies `ev` to `books` kept for several exchanges of `markets` markets at once, as
    /// [`on_event`](Self::on_event) would apply it to one exchange's own. `None`: the
    /// exchanges ignore it. Each then reacts with [`on_applied`](Self::on_applied), with
    /// `books` lent to it.
    #[inline(always)]
    pub fn apply_shared(books: &mut Books, markets: usize, ev: &Event) -> Option<Applied> {
        if Self::ignores(markets, ev) {
            return None;
        }
        Some(apply(books, ev, true))
    }

    /// Whether [`on_applied`](Self::on_applied) would change anything for `ev`: false for the
    /// many events far from our orders and from the liquidity we took, which it passes over.
    #[inline(always)]
    pub fn concerned(&self, ev: &Event, applied: Applied) -> bool {
        let Some(ms) = self.markets.get(ev.market.0 as usize) else {
            return false;
        };
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                ms.taken.covers(side, price)
                    || (applied.crossed && !ms.taken.is_empty())
                    || ms.resting.at(order_side(side), price)
                    || (amount > 0 && ms.resting.reaches(order_side(side.opposite()), price, true))
            }
            EventKind::SnapshotStart { .. }
            | EventKind::SnapshotLevel { .. }
            | EventKind::SnapshotEnd => true,
            EventKind::Trade { taker, price, .. } => {
                ms.resting.reaches(taker.opposite(), price, true)
                    || ms.resting.reaches(taker, price, false)
            }
            EventKind::Gap { .. }
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Connect
            | EventKind::Tick => false,
        }
    }

    /// Our orders react at `now` to `ev`, which the book already holds.
    #[inline(always)]
    pub fn on_applied(&mut self, now: i64, ev: &Event, applied: Applied) {
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                let book = self.books.get_mut(ev.market);
                let ms = &mut self.markets[ev.market.0 as usize];
                ms.taken.on_level(side, price, amount);
                if applied.crossed {
                    // The update removed the opposite levels it crossed: forget them too.
                    ms.taken.forget_crossed(book);
                }
                if ms.resting.at(order_side(side), price) {
                    self.requeue(ev.market, side, price, applied.prev, amount);
                }
                if amount > 0 && self.reaches_ours(ev.market, side, price) {
                    self.cross(now, ev.market);
                }
            }
            EventKind::SnapshotStart { .. } | EventKind::SnapshotLevel { .. } => {
                self.markets[ev.market.0 as usize].taken.clear();
            }
            EventKind::SnapshotEnd => {
                let m = ev.market;
                let ms = &self.markets[m.0 as usize];
                for r in &ms.resting {
                    let shown = self.books.get_mut(m).level(book_side(r.side), r.price);
                    let o = self.orders.get_mut(&r.id).expect("resting orders exist");
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
                if self.books.get_mut(ev.market).is_valid() {
                    self.on_trade(now, ev.market, taker, price, amount);
                }
            }
            EventKind::Gap { .. }
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Connect
            | EventKind::Tick => {}
        }
    }

    /// Lends the exchange `books` in place of its own (swapped back by a second call).
    pub fn swap_books(&mut self, books: &mut Books) {
        std::mem::swap(&mut self.books, books);
    }

    /// Moves the queue of our orders at a level whose shown volume went from `prev` to `new`.
    fn requeue(&mut self, m: MarketId, side: BookSide, price: i64, prev: i64, new: i64) {
        let queue = self.queue;
        // Our own older orders at the level stand ahead too, outside the shown volume.
        let mut own_ahead = 0;
        for r in &self.markets[m.0 as usize].resting {
            if book_side(r.side) != side || r.price != price {
                continue;
            }
            let o = self.orders.get_mut(&r.id).expect("resting orders exist");
            // The part of the fall that trades already explained moved the queue already.
            let explained = o.traded_since_update.min((prev - new).max(0));
            o.traded_since_update = 0;
            let front = (o.queue_ahead - own_ahead).max(0);
            o.queue_ahead = queue.on_level_change(front, prev - explained, new) + own_ahead;
            own_ahead += o.remaining;
        }
    }

    /// Whether a level set on `side` at `price` stands within our best resting price on the
    /// other side: only such a level can offer our orders volume to cross with. A removal,
    /// or a level beyond our prices, leaves every order as the last crossing check left it.
    fn reaches_ours(&self, m: MarketId, side: BookSide, price: i64) -> bool {
        let ours = order_side(side.opposite());
        self.markets[m.0 as usize]
            .resting
            .reaches(ours, price, true)
    }

    /// Our resting orders on `side`, in the order an incoming taker meets them: best price
    /// first, then oldest first.
    fn in_priority(&self, m: MarketId, side: Side) -> Vec<OrderId> {
        let mut v: Vec<(i64, OrderId)> = self.markets[m.0 as usize]
            .resting
            .iter()
            .filter(|r| r.side == side)
            .map(|r| (if side == Side::Buy { -r.price } else { r.price }, r.id))
            .collect();
        // Stable: at one price, `resting` order (oldest first) is kept.
        v.sort_by_key(|&(key, _)| key);
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// Whether the opposite side's best level with volume left to take reaches our best
    /// resting price on `side`: the cheap test before [`cross`](Self::cross) does any work.
    fn may_cross(&mut self, m: MarketId, side: Side) -> bool {
        let ms = &self.markets[m.0 as usize];
        let Some(top) = ms.resting.best(side) else {
            return false;
        };
        let opp = book_side(side).opposite();
        let book = self.books.get_mut(m);
        let best = match book.best(opp) {
            Some(l) if ms.taken.left(opp, l.price, l.amount) > 0 => Some(l.price),
            Some(_) => book
                .levels(opp)
                .find(|l| ms.taken.left(opp, l.price, l.amount) > 0)
                .map(|l| l.price),
            None => None,
        };
        best.is_some_and(|b| super::liquidity::within(opp, b, top))
    }

    /// A public trade of `amount` at `price`, its taker on `taker`'s side.
    ///
    /// - Our orders on the other side strictly better than `price` stood ahead of every order
    ///   the taker met at `price`: they take the trade's volume first, in priority order.
    /// - Our orders on the other side at `price` see the rest of the volume advance their queue
    ///   and fill with what passes the queue ahead of them.
    /// - Our orders on the taker's own side strictly better than `price` show that a level on
    ///   the other side stood within their price: that volume fills them as a crossing level
    ///   would ([`cross`](Self::cross)), less what we already took at that level.
    fn on_trade(&mut self, now: i64, m: MarketId, taker: Side, price: i64, amount: i64) {
        let resting = &self.markets[m.0 as usize].resting;
        if !resting.reaches(taker.opposite(), price, true) && !resting.reaches(taker, price, false)
        {
            // No order of ours at or through the trade's price: nothing below would change.
            return;
        }
        let mut fills = Vec::new();
        let mut left = amount;
        for id in self.in_priority(m, taker.opposite()) {
            let o = self.orders.get_mut(&id).expect("resting orders exist");
            let p = o.price.expect("resting orders have a price");
            if better(o.side, p, price) {
                // The taker met every order at our price before it reached a worse one: no
                // volume is left ahead of us there.
                o.queue_ahead = 0;
                let f = left.min(o.remaining);
                left -= f;
                if f > 0 {
                    fills.push((id, p, f));
                }
            } else if p == price {
                let f = (left - o.queue_ahead).clamp(0, o.remaining);
                o.queue_ahead = (o.queue_ahead - left).max(0);
                o.traded_since_update += amount;
                if f > 0 {
                    fills.push((id, p, f));
                }
            }
        }
        // A taker on our own side met a level on the other side at `price`. Where the book
        // shows that level, the print is its shown volume, less what we took of it already.
        // Where it does not, the print is volume of its own: each trade consumed what it
        // printed, so an earlier print there was other volume.
        let level = book_side(taker).opposite();
        let shown = self.books.get_mut(m).level(level, price) > 0;
        let unseen = if shown {
            self.markets[m.0 as usize].taken.left(level, price, amount)
        } else {
            amount
        };
        let mut evidence = unseen;
        for id in self.in_priority(m, taker) {
            let o = &self.orders[&id];
            let p = o.price.expect("resting orders have a price");
            if evidence == 0 || !better(o.side, p, price) {
                break;
            }
            let f = evidence.min(o.remaining);
            evidence -= f;
            fills.push((id, p, f));
        }
        self.markets[m.0 as usize]
            .taken
            .take_at(level, price, unseen - evidence, shown);
        for (id, p, amount) in fills {
            self.fill(now, id, p, amount, true);
        }
    }

    /// Fills resting orders that the opposite side of the book has reached: each, in priority
    /// order, at its own price, with at most the volume the crossing levels show less what we
    /// already took there. The rest keeps resting.
    fn cross(&mut self, now: i64, m: MarketId) {
        if !self.books.get_mut(m).is_valid() {
            return;
        }
        for side in [Side::Buy, Side::Sell] {
            let opp = book_side(side).opposite();
            if !self.may_cross(m, side) {
                continue;
            }
            for id in self.in_priority(m, side) {
                let o = &self.orders[&id];
                let (p, mut want) = (o.price.expect("resting orders have a price"), o.remaining);
                let book = self.books.get_mut(m);
                let takes =
                    self.markets[m.0 as usize]
                        .taken
                        .sweep(book, opp, Some(p), |_, left| {
                            let t = left.min(want);
                            want -= t;
                            t
                        });
                if takes.is_empty() {
                    // Orders behind this one in priority cannot be reached either.
                    break;
                }
                for (_, amount) in takes {
                    self.fill(now, id, p, amount, true);
                }
            }
        }
    }
}
