//! One side of a book: a dense ladder of price slots around the best price, and a B-tree for
//! the levels beyond it.
//!
//! The ladder covers [`WIDTH`] ticks placed so that the best price sits an eighth of the
//! width from the better edge: setting, reading and removing a level there is an index, and
//! the next best after a removal is found through two levels of occupancy bitmaps. Levels
//! outside the window live in the tree. The window moves (every level is re-placed) when
//! the best price leaves it or comes within an eighth of its worse edge, so every level in
//! the tree is worse than every level in the window.

use std::collections::BTreeMap;

const PAGE_BITS: u32 = 10;
/// Slots per page: pages are allocated on first use, so a thin market stays small.
const PAGE: usize = 1 << PAGE_BITS;
const PAGES: usize = 64;
/// Ticks the window covers.
pub(super) const WIDTH: usize = PAGE * PAGES;
const WORDS: usize = WIDTH / 64;
const SUMMARY: usize = WORDS / 64;
const MARGIN: i64 = (WIDTH / 8) as i64;

#[derive(Debug, Clone)]
pub(super) struct Ladder {
    /// Bids: the best is the highest price. Asks: the lowest.
    bid: bool,
    /// The price of slot 0.
    lo: i64,
    /// Amounts by slot, in pages; empty until the first level is set.
    pages: Vec<Option<Box<[i64; PAGE]>>>,
    /// Bit `i` is set when slot `i` holds a level.
    bits: Vec<u64>,
    /// Bit `w` is set when `bits[w]` is not zero.
    summary: [u64; SUMMARY],
    in_window: usize,
    /// Levels outside the window, all worse than the window's.
    outliers: BTreeMap<i64, i64>,
    best: Option<i64>,
}

impl Ladder {
    pub fn new(bid: bool) -> Ladder {
        Ladder {
            bid,
            lo: 0,
            pages: Vec::new(),
            bits: Vec::new(),
            summary: [0; SUMMARY],
            in_window: 0,
            outliers: BTreeMap::new(),
            best: None,
        }
    }

    pub fn len(&self) -> usize {
        self.in_window + self.outliers.len()
    }

    pub fn best(&self) -> Option<(i64, i64)> {
        self.best.map(|p| (p, self.get(p)))
    }

    /// The best price, without reading its amount.
    #[inline]
    pub fn best_price(&self) -> Option<i64> {
        self.best
    }

    /// True when `a` is a better price than `b` on this side.
    #[inline]
    fn better(&self, a: i64, b: i64) -> bool {
        if self.bid {
            a > b
        } else {
            a < b
        }
    }

    #[inline]
    fn slot(&self, price: i64) -> Option<usize> {
        let i = price.checked_sub(self.lo)?;
        (!self.bits.is_empty() && (0..WIDTH as i64).contains(&i)).then_some(i as usize)
    }

    #[inline]
    fn amount_at(&self, i: usize) -> i64 {
        self.pages[i >> PAGE_BITS]
            .as_ref()
            .map_or(0, |p| p[i & (PAGE - 1)])
    }

    pub fn get(&self, price: i64) -> i64 {
        match self.slot(price) {
            Some(i) => self.amount_at(i),
            None => self.outliers.get(&price).copied().unwrap_or(0),
        }
    }

    /// Sets a level's amount; 0 removes it.
    #[inline]
    pub fn set(&mut self, price: i64, amount: i64) {
        match self.slot(price) {
            Some(i) => self.set_in_window(i, price, amount),
            None => self.set_outside(price, amount),
        }
    }

    /// [`set`](Self::set) of a price in the window (slot `i`), the case of nearly every
    /// update: [`set_outside`](Self::set_outside) with what cannot happen left out.
    #[inline(always)]
    fn set_in_window(&mut self, i: usize, price: i64, amount: i64) {
        self.set_slot(i, amount);
        let was = self.best;
        if amount != 0 {
            if was.is_some_and(|b| !self.better(price, b)) {
                return;
            }
            self.best = Some(price);
            if was != Some(price) && self.deep(i) {
                self.recenter(price);
            }
        } else if was == Some(price) {
            self.best = self.next_best(price);
            if let Some(b) = self.best {
                if self.slot(b).is_none_or(|j| self.deep(j)) {
                    self.recenter(b);
                }
            }
        }
    }

    /// [`set`](Self::set) in general: the first level, a level outside the window.
    #[inline(never)]
    fn set_outside(&mut self, price: i64, amount: i64) {
        if self.bits.is_empty() {
            if amount == 0 {
                return;
            }
            self.bits = vec![0; WORDS];
            self.pages.resize_with(PAGES, || None);
            self.place(price);
        }
        match self.slot(price) {
            Some(i) => self.set_slot(i, amount),
            None if amount == 0 => {
                self.outliers.remove(&price);
            }
            None => {
                self.outliers.insert(price, amount);
            }
        }
        let was = self.best;
        if amount != 0 {
            if was.is_none_or(|b| self.better(price, b)) {
                self.best = Some(price);
            }
        } else if was == Some(price) {
            self.best = self.next_best(price);
        }
        if self.best != was {
            if let Some(b) = self.best {
                if self.slot(b).is_none_or(|i| self.deep(i)) {
                    self.recenter(b);
                }
            }
        }
    }

    /// Whether slot `i` is within an eighth of the window's worse edge.
    fn deep(&self, i: usize) -> bool {
        let i = i as i64;
        if self.bid {
            i < MARGIN
        } else {
            i >= WIDTH as i64 - MARGIN
        }
    }

    #[inline(always)]
    fn set_slot(&mut self, i: usize, amount: i64) {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let page = &mut self.pages[i >> PAGE_BITS];
        if amount == 0 {
            if self.bits[w] & b == 0 {
                return;
            }
            if let Some(p) = page {
                p[i & (PAGE - 1)] = 0;
            }
            self.bits[w] &= !b;
            if self.bits[w] == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
            self.in_window -= 1;
            return;
        }
        // Zeroed by the allocator (calloc), not written: pages never touched cost nothing.
        page.get_or_insert_with(|| {
            vec![0; PAGE]
                .into_boxed_slice()
                .try_into()
                .expect("PAGE slots")
        })[i & (PAGE - 1)] = amount;
        if self.bits[w] & b == 0 {
            self.bits[w] |= b;
            self.summary[w / 64] |= 1 << (w % 64);
            self.in_window += 1;
        }
    }

    /// The best price after `removed` (the best) left.
    fn next_best(&self, removed: i64) -> Option<i64> {
        let in_window = match self.slot(removed) {
            Some(i) if self.bid => self.below(i),
            Some(i) => self.above(i),
            None => None,
        };
        match in_window {
            Some(i) => Some(self.lo + i as i64),
            None if self.bid => self.outliers.last_key_value().map(|(p, _)| *p),
            None => self.outliers.first_key_value().map(|(p, _)| *p),
        }
    }

    /// Places the window for a best price of `best` and re-places every level.
    fn recenter(&mut self, best: i64) {
        let mut all: Vec<(i64, i64)> = std::mem::take(&mut self.outliers).into_iter().collect();
        for w in 0..WORDS {
            let mut bits = self.bits[w];
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                all.push((self.lo + i as i64, self.amount_at(i)));
                bits &= bits - 1;
            }
        }
        self.clear_window();
        self.place(best);
        all.retain(|&(p, a)| match self.slot(p) {
            Some(i) => {
                self.set_slot(i, a);
                false
            }
            None => true,
        });
        self.outliers.extend(all);
    }

    fn place(&mut self, best: i64) {
        self.lo = if self.bid {
            best.saturating_sub(WIDTH as i64 - MARGIN)
        } else {
            best.saturating_sub(MARGIN)
        };
    }

    /// Empties the side; the pages stay for the next snapshot.
    pub fn clear(&mut self) {
        self.clear_window();
        self.outliers.clear();
        self.best = None;
    }

    fn clear_window(&mut self) {
        if !self.bits.is_empty() {
            for w in 0..WORDS {
                let mut bits = self.bits[w];
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    if let Some(p) = &mut self.pages[i >> PAGE_BITS] {
                        p[i & (PAGE - 1)] = 0;
                    }
                    bits &= bits - 1;
                }
                self.bits[w] = 0;
            }
        }
        self.summary = [0; SUMMARY];
        self.in_window = 0;
    }

    /// The highest occupied slot below `i`.
    fn below(&self, i: usize) -> Option<usize> {
        let i = i.checked_sub(1)?;
        let w = i / 64;
        let m = self.bits[w] & (u64::MAX >> (63 - i % 64));
        if m != 0 {
            return Some(w * 64 + 63 - m.leading_zeros() as usize);
        }
        let j = w.checked_sub(1)?;
        let mut s = j / 64;
        let mut m = self.summary[s] & (u64::MAX >> (63 - j % 64));
        loop {
            if m != 0 {
                let word = s * 64 + 63 - m.leading_zeros() as usize;
                return Some(word * 64 + 63 - self.bits[word].leading_zeros() as usize);
            }
            s = s.checked_sub(1)?;
            m = self.summary[s];
        }
    }

    /// The lowest occupied slot above `i`.
    fn above(&self, i: usize) -> Option<usize> {
        let i = i + 1;
        if i >= WIDTH {
            return None;
        }
        let w = i / 64;
        let m = self.bits[w] & (u64::MAX << (i % 64));
        if m != 0 {
            return Some(w * 64 + m.trailing_zeros() as usize);
        }
        let j = w + 1;
        if j >= WORDS {
            return None;
        }
        let mut s = j / 64;
        let mut m = self.summary[s] & (u64::MAX << (j % 64));
        loop {
            if m != 0 {
                let word = s * 64 + m.trailing_zeros() as usize;
                return Some(word * 64 + self.bits[word].trailing_zeros() as usize);
            }
            s += 1;
            if s >= SUMMARY {
                return None;
            }
            m = self.summary[s];
        }
    }

    /// Levels as (price, amount), best first.
    pub fn levels(&self) -> Levels<'_> {
        Levels {
            ladder: self,
            next: self.best.and_then(|b| self.slot(b)),
            outliers: self.outliers.iter(),
        }
    }
}

/// The levels of a side, best first: the window's, then the tree's.
pub(super) struct Levels<'a> {
    ladder: &'a Ladder,
    next: Option<usize>,
    outliers: std::collections::btree_map::Iter<'a, i64, i64>,
}

impl Iterator for Levels<'_> {
    type Item = (i64, i64);

    #[inline]
    fn next(&mut self) -> Option<(i64, i64)> {
        let l = self.ladder;
        if let Some(i) = self.next {
            self.next = if l.bid { l.below(i) } else { l.above(i) };
            return Some((l.lo + i as i64, l.amount_at(i)));
        }
        let (p, a) = if l.bid {
            self.outliers.next_back()?
        } else {
            self.outliers.next()?
        };
        Some((*p, *a))
    }
}
