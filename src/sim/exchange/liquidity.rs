//! Liquidity we took from the shown book, and what a buy costs in quote.
//!
//! The feed never shows our orders, so a level we took from keeps showing its old volume. The
//! [`Taken`] ledger remembers, per level, how much of the shown volume is ours already, so that
//! neither a second order nor a crossing fill takes it twice. Every later change of the level
//! is someone else's doing (the feed knows nothing of us), so the ledger keeps what we took and
//! only clamps it to what the level still shows: a level that falls by 0.5 after we took 1 of
//! its 3 offers 1.5 more, not 2.5; a level that empties forgets us.
//!
//! A print at a level the book does not show is evidence of liquidity the feed never showed
//! (rule 8 of `docs/fill-rules.md`). What our orders took of it is recorded too, as unshown:
//! an update that crosses the book removes the shown levels it crosses and forgets what we took
//! there, but leaves the unshown records alone, as no level of theirs emptied.

use super::resting::Span;
use crate::book::Book;
use crate::tape::BookSide;
use std::collections::BTreeMap;

/// Per level, the volume of the shown book that our fills have consumed, and the range of
/// prices those levels span on each side: most book updates fall outside it and skip the
/// lookup.
#[derive(Debug, Default)]
pub(super) struct Taken {
    levels: BTreeMap<(BookSide, i64), Take>,
    bids: Span,
    asks: Span,
}

/// What we took at one level, and whether the book showed the level when we last looked.
#[derive(Debug, Clone, Copy)]
struct Take {
    amount: i64,
    shown: bool,
}

/// Whether `price` on the opposite `side` is within a taker's `limit`.
pub(super) fn within(side: BookSide, price: i64, limit: i64) -> bool {
    match side {
        BookSide::Ask => price <= limit,
        BookSide::Bid => price >= limit,
    }
}

impl Taken {
    pub fn span(&self, side: BookSide) -> &Span {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// The spans, again from the levels left.
    fn respan(&mut self) {
        (self.bids, self.asks) = (Span::default(), Span::default());
        for &(side, price) in self.levels.keys() {
            match side {
                BookSide::Bid => self.bids.add(price),
                BookSide::Ask => self.asks.add(price),
            }
        }
    }

    /// Whether a level update at `price` on `side` can change what the ledger holds: only
    /// within the span of its levels there.
    #[inline]
    pub fn covers(&self, side: BookSide, price: i64) -> bool {
        self.span(side).contains(price)
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// What we consumed at a level.
    pub fn at(&self, side: BookSide, price: i64) -> i64 {
        if !self.covers(side, price) {
            return 0;
        }
        self.levels.get(&(side, price)).map_or(0, |t| t.amount)
    }

    /// What a level shows that is not ours already.
    pub fn left(&self, side: BookSide, price: i64, shown: i64) -> i64 {
        (shown - self.at(side, price)).max(0)
    }

    /// Records `amount` more taken at a level the book shows.
    pub fn take(&mut self, side: BookSide, price: i64, amount: i64) {
        self.take_at(side, price, amount, true);
    }

    /// Records `amount` more taken at a level; `shown`: whether the book shows it.
    pub fn take_at(&mut self, side: BookSide, price: i64, amount: i64, shown: bool) {
        if amount > 0 {
            let t = self
                .levels
                .entry((side, price))
                .or_insert(Take { amount: 0, shown });
            t.amount += amount;
            t.shown |= shown;
            match side {
                BookSide::Bid => self.bids.add(price),
                BookSide::Ask => self.asks.add(price),
            }
        }
    }

    /// The feed set a level to `shown`: what we took cannot exceed what is left there.
    #[inline]
    pub fn on_level(&mut self, side: BookSide, price: i64, shown: i64) {
        if !self.covers(side, price) {
            return;
        }
        if let Some(t) = self.levels.get_mut(&(side, price)) {
            t.amount = t.amount.min(shown);
            t.shown = true;
            if t.amount <= 0 {
                self.levels.remove(&(side, price));
                self.respan();
            }
        }
    }

    /// An update crossed the book and removed the levels it crossed: forgets what we took at
    /// shown levels the book no longer shows. Records at levels the book never showed stay.
    pub fn forget_crossed(&mut self, book: &Book) {
        self.levels
            .retain(|&(side, price), t| !t.shown || book.level(side, price) > 0);
        self.respan();
    }

    /// A snapshot replaced the book.
    pub fn clear(&mut self) {
        self.levels.clear();
        self.respan();
    }

    /// Walks `side` of `book` from its best level up to `limit` (inclusive; `None`: no limit),
    /// offering each level's volume less what we took to `want(price, left)`, which answers how
    /// much to take there (0 stops the walk). Records what is taken; returns (price, amount)
    /// for each level taken from, best first.
    pub fn sweep(
        &mut self,
        book: &Book,
        side: BookSide,
        limit: Option<i64>,
        mut want: impl FnMut(i64, i64) -> i64,
    ) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for l in book.levels(side) {
            if limit.is_some_and(|p| !within(side, l.price, p)) {
                break;
            }
            let left = self.left(side, l.price, l.amount);
            if left == 0 {
                continue;
            }
            let t = want(l.price, left).min(left);
            if t <= 0 {
                break;
            }
            self.take(side, l.price, t);
            out.push((l.price, t));
        }
        out
    }
}

/// What buying costs in quote at 16 decimals: `price × amount` scaled from the market's total
/// scale, plus the fee in the `quote` fee mode (Hummingbot's paper trade; Peatio charges the
/// buyer's fee in base, so there it is 0).
#[derive(Debug, Clone, Copy)]
pub(super) struct BuyCost {
    /// 10^(16 − total scale): one unit of price × amount in balance units.
    pub unit: i128,
    /// The fee rate (millionths) added on top, in the `quote` fee mode.
    pub quote_fee_rate: Option<i64>,
}

impl BuyCost {
    /// Quote needed for `amount` at `price`.
    pub fn of(&self, price: i64, amount: i64) -> i128 {
        let total = i128::from(price) * i128::from(amount) * self.unit;
        match self.quote_fee_rate {
            None => total,
            Some(r) => total + super::fee_of(total, r),
        }
    }

    /// The largest amount at `price` that `funds` pays for (Peatio's market-order
    /// `volume_limit`: funds ÷ price, floored to the amount precision).
    pub fn max_amount(&self, price: i64, funds: i128) -> i64 {
        if price <= 0 || funds <= 0 {
            return 0;
        }
        let per_unit = i128::from(price) * self.unit;
        let mut a = funds / per_unit;
        if let Some(r) = self.quote_fee_rate {
            // Start from funds ÷ (price × (1 + rate)), then step down past rounding.
            a = funds * 1_000_000 / (per_unit * (1_000_000 + i128::from(r)));
            while a > 0 && self.of(price, a.min(i128::from(i64::MAX)) as i64) > funds {
                a -= 1;
            }
        }
        a.min(i128::from(i64::MAX)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::{Event, EventKind, MarketId};

    fn book(asks: &[(i64, i64)]) -> Book {
        let mut b = Book::new();
        for &(price, amount) in asks {
            b.apply(&Event {
                recv_ns: 0,
                market: MarketId(0),
                kind: EventKind::SnapshotLevel {
                    side: BookSide::Ask,
                    price,
                    amount,
                },
            });
        }
        b
    }

    #[test]
    fn taken_volume_is_clamped_not_forgotten() {
        let mut t = Taken::default();
        t.take(BookSide::Ask, 100, 10);
        t.on_level(BookSide::Ask, 100, 25);
        assert_eq!(
            t.left(BookSide::Ask, 100, 25),
            15,
            "a level that grows keeps our take"
        );
        t.on_level(BookSide::Ask, 100, 4);
        assert_eq!(
            t.left(BookSide::Ask, 100, 4),
            0,
            "what is left is ours already"
        );
        t.on_level(BookSide::Ask, 100, 0);
        assert_eq!(t.at(BookSide::Ask, 100), 0, "an emptied level forgets us");
    }

    #[test]
    fn a_crossing_forgets_only_shown_levels_it_removed() {
        let b = book(&[(102, 5)]);
        let mut t = Taken::default();
        t.take(BookSide::Ask, 101, 3);
        t.take_at(BookSide::Ask, 99, 2, false);
        t.take(BookSide::Ask, 102, 1);
        t.forget_crossed(&b);
        assert_eq!(
            t.at(BookSide::Ask, 101),
            0,
            "a shown level removed: forgotten"
        );
        assert_eq!(t.at(BookSide::Ask, 99), 2, "a level never shown: kept");
        assert_eq!(t.at(BookSide::Ask, 102), 1, "a level still shown: kept");
        t.on_level(BookSide::Ask, 99, 4);
        t.forget_crossed(&book(&[]));
        assert_eq!(
            t.at(BookSide::Ask, 99),
            0,
            "shown since, then removed: forgotten"
        );
    }

    #[test]
    fn sweep_skips_what_we_took_and_stops_at_the_limit() {
        let b = book(&[(100, 5), (101, 5), (102, 5)]);
        let mut t = Taken::default();
        t.take(BookSide::Ask, 100, 5);
        let mut want = 20;
        let got = t.sweep(&b, BookSide::Ask, Some(101), |_, left| {
            let x = left.min(want);
            want -= x;
            x
        });
        assert_eq!(got, [(101, 5)]);
        assert_eq!(t.at(BookSide::Ask, 101), 5);
    }

    #[test]
    fn max_amount_floors_to_the_amount_precision() {
        // ETH/USDT at 2 price and 5 amount decimals: 420.908458 USDT at 2680.01.
        let c = BuyCost {
            unit: 10i128.pow(16 - 7),
            quote_fee_rate: None,
        };
        let funds = 4_209_084_580_000_000_000;
        assert_eq!(c.max_amount(268_001, funds), 15_705);
        let q = BuyCost {
            quote_fee_rate: Some(2_500),
            ..c
        };
        let a = q.max_amount(268_001, funds);
        assert!(q.of(268_001, a) <= funds && q.of(268_001, a + 1) > funds);
    }
}
