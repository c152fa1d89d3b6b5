//! The L2 order book of one market, on fixed-point prices and amounts.
//!
//! Feeds such as the shipped sample update levels all through the depth, mostly within a few
//! hundred ticks of the top. Each side is a [`ladder`]: direct slots for a window of prices
//! around the best, and a B-tree for the levels beyond it.

use crate::tape::{BookSide, Event, EventKind, MarketId};
use ladder::Ladder;

mod ladder;

/// A price level: price and amount as fixed-point integers at the market's precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PriceLevel {
    pub price: i64,
    pub amount: i64,
}

/// What walking the book for an amount found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walk {
    /// Amount that the shown depth covers (≤ the amount asked for).
    pub filled: i64,
    /// Σ price × amount over the levels taken, at price + amount precision.
    pub cost: i128,
    /// The last price reached.
    pub worst_price: Option<i64>,
    pub levels: usize,
}

#[derive(Debug, Clone)]
pub struct Book {
    bids: Ladder,
    asks: Ladder,
    valid: bool,
    sequence: Option<u64>,
    last_update_ns: i64,
    crossings: u64,
}

impl Default for Book {
    fn default() -> Self {
        Book {
            bids: Ladder::new(true),
            asks: Ladder::new(false),
            valid: false,
            sequence: None,
            last_update_ns: 0,
            crossings: 0,
        }
    }
}

fn level((price, amount): (i64, i64)) -> PriceLevel {
    PriceLevel { price, amount }
}

impl Book {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once a snapshot has been applied and no gap has happened since.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// The sequence of the last snapshot or increment applied.
    pub fn sequence(&self) -> Option<u64> {
        self.sequence
    }

    /// Receive time of the last change.
    pub fn last_update_ns(&self) -> i64 {
        self.last_update_ns
    }

    /// Marks the book untrusted until the next snapshot.
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    #[inline]
    fn side_mut(&mut self, side: BookSide) -> &mut Ladder {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    #[inline]
    fn side(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Sets a level's absolute amount; 0 removes it.
    #[inline(always)]
    pub fn set(&mut self, side: BookSide, price: i64, amount: i64) {
        self.side_mut(side).set(price, amount);
    }

    /// Applies one event of this market (the caller routes by market).
    #[inline(always)]
    pub fn apply(&mut self, ev: &Event) {
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                sequence,
            } => {
                self.set(side, price, amount);
                if amount > 0 && self.uncross(side, price) {
                    self.crossings += 1;
                }
                if sequence.is_some() {
                    self.sequence = sequence;
                }
                self.last_update_ns = ev.recv_ns;
            }
            EventKind::SnapshotStart { sequence } => {
                self.clear();
                self.valid = false;
                self.sequence = sequence;
            }
            EventKind::SnapshotLevel {
                side,
                price,
                amount,
            } => self.set(side, price, amount),
            EventKind::SnapshotEnd => {
                self.valid = true;
                self.last_update_ns = ev.recv_ns;
            }
            EventKind::Gap { .. } | EventKind::Disconnect | EventKind::Resync => self.valid = false,
            EventKind::Trade { .. } | EventKind::Connect | EventKind::Tick => {}
        }
    }

    /// After a level of `side` at `price` was set: removes the opposite levels it crosses (the
    /// newer update wins, as in hftbacktest's depth). True when there were any.
    #[inline(always)]
    fn uncross(&mut self, side: BookSide, price: i64) -> bool {
        let opposite = match side {
            BookSide::Bid => &mut self.asks,
            BookSide::Ask => &mut self.bids,
        };
        let mut any = false;
        while let Some(p) = opposite.best_price() {
            let crossed = match side {
                BookSide::Bid => p <= price,
                BookSide::Ask => p >= price,
            };
            if !crossed {
                break;
            }
            opposite.set(p, 0);
            any = true;
        }
        any
    }

    /// How many feed updates crossed the opposite side and removed the levels they crossed.
    pub fn crossings(&self) -> u64 {
        self.crossings
    }

    pub fn best_bid(&self) -> Option<PriceLevel> {
        self.bids.best().map(level)
    }

    /// The best bid and ask prices, without reading their amounts.
    #[inline]
    pub fn best_prices(&self) -> (Option<i64>, Option<i64>) {
        (self.bids.best_price(), self.asks.best_price())
    }

    pub fn best_ask(&self) -> Option<PriceLevel> {
        self.asks.best().map(level)
    }

    pub fn best(&self, side: BookSide) -> Option<PriceLevel> {
        self.side(side).best().map(level)
    }

    /// The amount shown at `price` on `side` (0 when there is no such level).
    pub fn level(&self, side: BookSide, price: i64) -> i64 {
        self.side(side).get(price)
    }

    /// Number of levels on a side.
    pub fn depth_len(&self, side: BookSide) -> usize {
        self.side(side).len()
    }

    /// Levels of a side, best first.
    pub fn levels(&self, side: BookSide) -> impl Iterator<Item = PriceLevel> + '_ {
        self.side(side).levels().map(level)
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// Mid price ×2 (to stay an integer), when both sides have a level.
    pub fn mid_x2(&self) -> Option<i64> {
        Some(self.best_bid()?.price + self.best_ask()?.price)
    }

    /// Walks `side` from its best level, taking up to `amount` and stopping at `limit` (a
    /// price no level beyond may be taken at; `None` for no limit).
    pub fn walk(&self, side: BookSide, amount: i64, limit: Option<i64>) -> Walk {
        self.walk_with(side, amount, limit, |_, shown| shown)
    }

    /// [`walk`](Self::walk), with what each level offers given by `available(price, shown)`
    /// (the simulator subtracts the liquidity it already took).
    pub fn walk_with(
        &self,
        side: BookSide,
        amount: i64,
        limit: Option<i64>,
        available: impl Fn(i64, i64) -> i64,
    ) -> Walk {
        let mut w = Walk::default();
        for l in self.levels(side) {
            if w.filled >= amount {
                break;
            }
            let beyond = match (side, limit) {
                (BookSide::Ask, Some(p)) => l.price > p,
                (BookSide::Bid, Some(p)) => l.price < p,
                (_, None) => false,
            };
            if beyond {
                break;
            }
            let take = (amount - w.filled).min(available(l.price, l.amount).max(0));
            if take == 0 {
                continue;
            }
            w.filled += take;
            w.cost += i128::from(take) * i128::from(l.price);
            w.worst_price = Some(l.price);
            w.levels += 1;
        }
        w
    }
}

/// One book per market, indexed by [`MarketId`].
#[derive(Debug, Clone, Default)]
pub struct Books {
    books: Vec<Book>,
}

impl Books {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes an event to its market's book (a disconnect reaches every book).
    #[inline]
    pub fn apply(&mut self, ev: &Event) {
        if ev.market == MarketId::ALL {
            for b in &mut self.books {
                b.apply(ev);
            }
            return;
        }
        self.get_mut(ev.market).apply(ev);
    }

    #[inline]
    pub fn get_mut(&mut self, id: MarketId) -> &mut Book {
        let i = id.0 as usize;
        if i >= self.books.len() {
            self.books.resize_with(i + 1, Book::new);
        }
        &mut self.books[i]
    }

    pub fn get(&self, id: MarketId) -> Option<&Book> {
        self.books.get(id.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind) -> Event {
        Event {
            recv_ns: 1,
            market: MarketId(0),
            kind,
        }
    }

    fn snap(book: &mut Book, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
        book.apply(&ev(EventKind::SnapshotStart { sequence: Some(1) }));
        for &(price, amount) in bids {
            book.apply(&ev(EventKind::SnapshotLevel {
                side: BookSide::Bid,
                price,
                amount,
            }));
        }
        for &(price, amount) in asks {
            book.apply(&ev(EventKind::SnapshotLevel {
                side: BookSide::Ask,
                price,
                amount,
            }));
        }
        book.apply(&ev(EventKind::SnapshotEnd));
    }

    #[test]
    fn levels_best_walk_and_cross() {
        let mut b = Book::new();
        assert!(!b.is_valid());
        snap(&mut b, &[(100, 5), (99, 7)], &[(101, 2), (103, 4)]);
        assert!(b.is_valid());
        assert_eq!(
            b.best_bid(),
            Some(PriceLevel {
                price: 100,
                amount: 5
            })
        );
        assert_eq!(
            b.best_ask(),
            Some(PriceLevel {
                price: 101,
                amount: 2
            })
        );
        b.set(BookSide::Ask, 102, 3);
        b.set(BookSide::Ask, 101, 0);
        assert_eq!(b.best_ask().unwrap().price, 102);
        assert_eq!(b.level(BookSide::Ask, 103), 4);
        assert_eq!(b.level(BookSide::Ask, 101), 0);
        let w = b.walk(BookSide::Ask, 5, None);
        assert_eq!(
            (w.filled, w.cost, w.worst_price, w.levels),
            (5, 3 * 102 + 2 * 103, Some(103), 2)
        );
        let w = b.walk(BookSide::Ask, 5, Some(102));
        assert_eq!((w.filled, w.levels), (3, 1));
        let w = b.walk(BookSide::Bid, 100, None);
        assert_eq!(w.filled, 12);
        assert!(!b.is_crossed());
        b.set(BookSide::Bid, 102, 1);
        assert!(b.is_crossed());
        assert_eq!(
            b.levels(BookSide::Bid).map(|l| l.price).collect::<Vec<_>>(),
            [102, 100, 99]
        );
    }

    #[test]
    fn a_crossing_update_removes_what_it_crosses() {
        let mut b = Book::new();
        snap(
            &mut b,
            &[(100, 5), (99, 1)],
            &[(101, 2), (102, 3), (104, 1)],
        );
        let level = |side, price, amount| {
            ev(EventKind::Level {
                side,
                price,
                amount,
                sequence: None,
            })
        };
        b.apply(&level(BookSide::Bid, 102, 7));
        assert_eq!(b.best_ask().unwrap().price, 104, "101 and 102 were crossed");
        assert_eq!(
            b.best_bid().unwrap(),
            PriceLevel {
                price: 102,
                amount: 7
            }
        );
        b.apply(&level(BookSide::Ask, 99, 1));
        assert_eq!(b.best_bid(), None, "every bid was crossed");
        assert_eq!(b.crossings(), 2);
        b.apply(&level(BookSide::Ask, 98, 0));
        assert_eq!(b.crossings(), 2, "a removal crosses nothing");
        assert!(!b.is_crossed());
    }

    #[test]
    fn gap_invalidates_until_snapshot() {
        let mut b = Book::new();
        snap(&mut b, &[(100, 5)], &[(101, 2)]);
        b.apply(&ev(EventKind::Gap {
            reason: crate::tape::GapReason::Jump,
            expected: 3,
            got: 9,
        }));
        assert!(!b.is_valid());
        snap(&mut b, &[(90, 1)], &[]);
        assert!(b.is_valid());
        assert_eq!(b.best_bid().unwrap().price, 90);
        assert_eq!(b.best_ask(), None);
    }
}
