//! Our resting orders on one market, with the range of prices they span on each side.
//!
//! Nearly every book update and public trade lands away from all of our orders. The spans
//! tell those apart in a comparison or two, so the market-data path reads the orders only
//! when an event can concern one of them.

use crate::sim::OrderId;
use crate::venue::Side;

/// One of our resting orders: side and price beside the id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resting {
    pub id: OrderId,
    pub side: Side,
    pub price: i64,
}

/// The lowest and highest of a set of prices; empty when `lo > hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    lo: i64,
    hi: i64,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            lo: i64::MAX,
            hi: i64::MIN,
        }
    }
}

impl Span {
    pub fn add(&mut self, price: i64) {
        self.lo = self.lo.min(price);
        self.hi = self.hi.max(price);
    }

    #[inline]
    pub fn contains(&self, price: i64) -> bool {
        self.lo <= price && price <= self.hi
    }

    /// Whether the span reaches `price` from below: its highest price is at least it.
    #[inline]
    pub fn reaches_up(&self, price: i64) -> bool {
        self.hi >= price
    }

    /// Whether the span reaches `price` from above: its lowest price is at most it.
    #[inline]
    pub fn reaches_down(&self, price: i64) -> bool {
        self.lo <= price
    }
}

/// Our resting orders, oldest first, and the span of each side's prices.
#[derive(Debug, Default)]
pub(super) struct RestingOrders {
    orders: Vec<Resting>,
    buys: Span,
    sells: Span,
}

impl RestingOrders {
    pub fn span(&self, side: Side) -> &Span {
        match side {
            Side::Buy => &self.buys,
            Side::Sell => &self.sells,
        }
    }

    /// Adds the newest order.
    pub fn push(&mut self, r: Resting) {
        self.orders.push(r);
        match r.side {
            Side::Buy => self.buys.add(r.price),
            Side::Sell => self.sells.add(r.price),
        }
    }

    /// Removes an order (nothing when it does not rest).
    pub fn remove(&mut self, id: OrderId) {
        let before = self.orders.len();
        self.orders.retain(|r| r.id != id);
        if self.orders.len() == before {
            return;
        }
        (self.buys, self.sells) = (Span::default(), Span::default());
        for r in &self.orders {
            match r.side {
                Side::Buy => self.buys.add(r.price),
                Side::Sell => self.sells.add(r.price),
            }
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> std::slice::Iter<'_, Resting> {
        self.orders.iter()
    }

    /// Whether an order of ours rests on `side` at `price`.
    pub fn at(&self, side: Side, price: i64) -> bool {
        self.span(side).contains(price)
            && self
                .orders
                .iter()
                .any(|r| r.side == side && r.price == price)
    }

    /// Our best price on `side`: the highest buy or the lowest sell.
    pub fn best(&self, side: Side) -> Option<i64> {
        let s = self.span(side);
        (s.lo <= s.hi).then_some(match side {
            Side::Buy => s.hi,
            Side::Sell => s.lo,
        })
    }

    /// Whether an order of ours on `side` stands at `price` or better in price priority (a
    /// bid at or above it, an ask at or below it); strictly better unless `or_at`.
    pub fn reaches(&self, side: Side, price: i64, or_at: bool) -> bool {
        match (side, self.best(side)) {
            (_, None) => false,
            (Side::Buy, Some(b)) => b > price || (or_at && b == price),
            (Side::Sell, Some(b)) => b < price || (or_at && b == price),
        }
    }
}

impl<'a> IntoIterator for &'a RestingOrders {
    type Item = &'a Resting;
    type IntoIter = std::slice::Iter<'a, Resting>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: OrderId, side: Side, price: i64) -> Resting {
        Resting { id, side, price }
    }

    #[test]
    fn spans_follow_the_orders() {
        let mut o = RestingOrders::default();
        assert_eq!(o.best(Side::Buy), None);
        assert!(!o.reaches(Side::Sell, i64::MAX, true));
        o.push(r(1, Side::Buy, 100));
        o.push(r(2, Side::Buy, 98));
        o.push(r(3, Side::Sell, 105));
        o.push(r(4, Side::Sell, 107));
        assert_eq!(
            (o.best(Side::Buy), o.best(Side::Sell)),
            (Some(100), Some(105))
        );
        assert!(o.at(Side::Buy, 98) && !o.at(Side::Buy, 99) && !o.at(Side::Sell, 100));
        assert!(o.reaches(Side::Buy, 100, true) && !o.reaches(Side::Buy, 100, false));
        assert!(o.reaches(Side::Buy, 99, false) && !o.reaches(Side::Buy, 101, true));
        assert!(o.reaches(Side::Sell, 105, true) && !o.reaches(Side::Sell, 105, false));
        assert!(o.reaches(Side::Sell, 106, false) && !o.reaches(Side::Sell, 104, true));
        o.remove(1);
        assert_eq!(
            o.best(Side::Buy),
            Some(98),
            "the span shrinks to what is left"
        );
        o.remove(1);
        o.remove(2);
        assert_eq!(o.best(Side::Buy), None);
        assert!(!o.at(Side::Buy, 98));
        assert_eq!(o.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 4]);
    }
}
